// Protobuf field facts for core/v1: everything outside the PodSpec closure.
// Each entry lists a message's fields in the compact notation described in ../schema.ts
// (field number, JSON name, type, and how Go's JSON encoding treats the field). Facts taken
// from k8s.io/api and k8s.io/apimachinery generated.proto files and Go struct tags.
import type { PackageMessages } from '../schema.ts';

export const CORE_V1: PackageMessages = {
  pkg: 'core.v1',
  messages: {
    AttachedVolume: '1 name string!, 2 devicePath string!',
    AzureFilePersistentVolumeSource:
      '1 secretName string!, 2 shareName string!, 3 readOnly bool, 4 secretNamespace string?',
    Binding: '1 metadata meta.v1.ObjectMeta, 2 target ObjectReference',
    CSIPersistentVolumeSource:
      '1 driver string!, 2 volumeHandle string!, 3 readOnly bool, 4 fsType string, ' +
      '5 volumeAttributes string{}, 6 controllerPublishSecretRef SecretReference?, ' +
      '7 nodeStageSecretRef SecretReference?, 8 nodePublishSecretRef SecretReference?, ' +
      '9 controllerExpandSecretRef SecretReference?, 10 nodeExpandSecretRef SecretReference?',
    CephFSPersistentVolumeSource:
      '1 monitors string[], 2 path string, 3 user string, 4 secretFile string, 5 secretRef SecretReference?, ' +
      '6 readOnly bool',
    CinderPersistentVolumeSource:
      '1 volumeID string!, 2 fsType string, 3 readOnly bool, 4 secretRef SecretReference?',
    ClientIPConfig: '1 timeoutSeconds int32?',
    ConfigMap: '1 metadata meta.v1.ObjectMeta, 4 immutable bool?, 2 data string{}, 3 binaryData bytes{}',
    ConfigMapNodeConfigSource:
      '1 namespace string!, 2 name string!, 3 uid string, 4 resourceVersion string, ' +
      '5 kubeletConfigKey string!',
    ContainerExtendedResourceRequest: '1 containerName string!, 2 resourceName string!, 3 requestName string!',
    ContainerImage: '1 names string[], 2 sizeBytes int64',
    ContainerState:
      '1 waiting ContainerStateWaiting?, 2 running ContainerStateRunning?, ' +
      '3 terminated ContainerStateTerminated?',
    ContainerStateRunning: '1 startedAt meta.v1.Time',
    ContainerStateTerminated:
      '1 exitCode int32!, 2 signal int32, 3 reason string, 4 message string, 5 startedAt meta.v1.Time, ' +
      '6 finishedAt meta.v1.Time, 7 containerID string',
    ContainerStateWaiting: '1 reason string, 2 message string',
    ContainerStatus:
      '1 name string!, 2 state ContainerState, 3 lastState ContainerState, 4 ready bool!, ' +
      '5 restartCount int32!, 6 image string!, 7 imageID string!, 8 containerID string, 9 started bool?, ' +
      '10 allocatedResources resource.Quantity{}, 11 resources ResourceRequirements?, ' +
      '12 volumeMounts VolumeMountStatus[], 13 user ContainerUser?, ' +
      '14 allocatedResourcesStatus ResourceStatus[], 15 stopSignal string?',
    ContainerUser: '1 linux LinuxContainerUser?',
    DaemonEndpoint: '1 Port int32!',
    EndpointAddress: '1 ip string!, 3 hostname string, 4 nodeName string?, 2 targetRef ObjectReference?',
    EndpointPort: '1 name string, 2 port int32!, 3 protocol string, 4 appProtocol string?',
    EndpointSubset: '1 addresses EndpointAddress[], 2 notReadyAddresses EndpointAddress[], 3 ports EndpointPort[]',
    Endpoints: '1 metadata meta.v1.ObjectMeta, 2 subsets EndpointSubset[]',
    Event:
      '1 metadata meta.v1.ObjectMeta, 2 involvedObject ObjectReference, 3 reason string, 4 message string, ' +
      '5 source EventSource, 6 firstTimestamp meta.v1.Time, 7 lastTimestamp meta.v1.Time, 8 count int32, ' +
      '9 type string, 10 eventTime meta.v1.MicroTime, 11 series EventSeries?, 12 action string, ' +
      '13 related ObjectReference?, 14 reportingComponent string!, 15 reportingInstance string!',
    EventSeries: '1 count int32, 2 lastObservedTime meta.v1.MicroTime',
    EventSource: '1 component string, 2 host string',
    FlexPersistentVolumeSource:
      '1 driver string!, 2 fsType string, 3 secretRef SecretReference?, 4 readOnly bool, 5 options string{}',
    GlusterfsPersistentVolumeSource:
      '1 endpoints string!, 2 path string!, 3 readOnly bool, 4 endpointsNamespace string?',
    HostIP: '1 ip string!',
    ISCSIPersistentVolumeSource:
      '1 targetPortal string!, 2 iqn string!, 3 lun int32!, 4 iscsiInterface string, 5 fsType string, ' +
      '6 readOnly bool, 7 portals string[], 8 chapAuthDiscovery bool, 11 chapAuthSession bool, ' +
      '10 secretRef SecretReference?, 12 initiatorName string?',
    ImageVolumeStatus: '1 imageRef string',
    LimitRange: '1 metadata meta.v1.ObjectMeta, 2 spec LimitRangeSpec',
    LimitRangeItem:
      '1 type string!, 2 max resource.Quantity{}, 3 min resource.Quantity{}, 4 default resource.Quantity{}, ' +
      '5 defaultRequest resource.Quantity{}, 6 maxLimitRequestRatio resource.Quantity{}',
    LimitRangeSpec: '1 limits LimitRangeItem[]',
    LinuxContainerUser: '1 uid int64!, 2 gid int64!, 3 supplementalGroups int64[]',
    LoadBalancerIngress: '1 ip string, 2 hostname string, 3 ipMode string?, 4 ports PortStatus[]',
    LoadBalancerStatus: '1 ingress LoadBalancerIngress[]',
    LocalVolumeSource: '1 path string!, 2 fsType string?',
    ModifyVolumeStatus: '1 targetVolumeAttributesClassName string, 2 status string!',
    Namespace: '1 metadata meta.v1.ObjectMeta, 2 spec NamespaceSpec, 3 status NamespaceStatus',
    NamespaceCondition:
      '1 type string!, 2 status string!, 4 lastTransitionTime meta.v1.Time, 5 reason string, 6 message string',
    NamespaceSpec: '1 finalizers string[]',
    NamespaceStatus: '1 phase string, 2 conditions NamespaceCondition[]',
    Node: '1 metadata meta.v1.ObjectMeta, 2 spec NodeSpec, 3 status NodeStatus',
    NodeAddress: '1 type string!, 2 address string!',
    NodeAllocatableMappedResources: '1 name string!, 2 quantity resource.Quantity?',
    NodeAllocatableOverheadResources:
      '1 name string!, 2 perPod resource.Quantity?, 3 perContainer resource.Quantity?',
    NodeAllocatableResourceClaimStatus:
      '1 resourceClaimName string!, 2 containers string[], 4 mapping NodeAllocatableMappedResources[], ' +
      '5 overhead NodeAllocatableOverheadResources[]',
    NodeCondition:
      '1 type string!, 2 status string!, 3 lastHeartbeatTime meta.v1.Time, 4 lastTransitionTime meta.v1.Time, ' +
      '5 reason string, 6 message string',
    NodeConfigSource: '2 configMap ConfigMapNodeConfigSource?',
    NodeConfigStatus:
      '1 assigned NodeConfigSource?, 2 active NodeConfigSource?, 3 lastKnownGood NodeConfigSource?, ' +
      '4 error string',
    NodeDaemonEndpoints: '1 kubeletEndpoint DaemonEndpoint',
    NodeFeatures: '1 supplementalGroupsPolicy bool?',
    NodePodPreemptionPolicy: '1 disableResizePreemption string[]',
    NodeRuntimeHandler: '1 name string!, 2 features NodeRuntimeHandlerFeatures?',
    NodeRuntimeHandlerFeatures: '1 recursiveReadOnlyMounts bool?, 2 userNamespaces bool?',
    NodeSpec:
      '1 podCIDR string, 7 podCIDRs string[], 3 providerID string, 4 unschedulable bool, 5 taints Taint[], ' +
      '6 configSource NodeConfigSource?, 2 externalID string, 8 podPreemptionPolicy NodePodPreemptionPolicy?',
    NodeStatus:
      '1 capacity resource.Quantity{}, 2 allocatable resource.Quantity{}, 3 phase string, ' +
      '4 conditions NodeCondition[], 5 addresses NodeAddress[], 6 daemonEndpoints NodeDaemonEndpoints, ' +
      '7 nodeInfo NodeSystemInfo, 8 images ContainerImage[], 9 volumesInUse string[], ' +
      '10 volumesAttached AttachedVolume[], 11 config NodeConfigStatus?, ' +
      '12 runtimeHandlers NodeRuntimeHandler[], 13 features NodeFeatures?, 14 declaredFeatures string[]',
    NodeSwapStatus: '1 capacity int64?',
    NodeSystemInfo:
      '1 machineID string!, 2 systemUUID string!, 3 bootID string!, 4 kernelVersion string!, ' +
      '5 osImage string!, 6 containerRuntimeVersion string!, 7 kubeletVersion string!, ' +
      '8 kubeProxyVersion string!, 9 operatingSystem string!, 10 architecture string!, ' +
      '11 swap NodeSwapStatus?',
    ObjectReference:
      '1 kind string, 2 namespace string, 3 name string, 4 uid string, 5 apiVersion string, ' +
      '6 resourceVersion string, 7 fieldPath string',
    PersistentVolume: '1 metadata meta.v1.ObjectMeta, 2 spec PersistentVolumeSpec, 3 status PersistentVolumeStatus',
    PersistentVolumeClaim:
      '1 metadata meta.v1.ObjectMeta, 2 spec PersistentVolumeClaimSpec, 3 status PersistentVolumeClaimStatus',
    PersistentVolumeClaimCondition:
      '1 type string!, 2 status string!, 3 lastProbeTime meta.v1.Time, 4 lastTransitionTime meta.v1.Time, ' +
      '5 reason string, 6 message string',
    PersistentVolumeClaimStatus:
      '1 phase string, 2 accessModes string[], 3 capacity resource.Quantity{}, ' +
      '4 conditions PersistentVolumeClaimCondition[], 5 allocatedResources resource.Quantity{}, ' +
      '7 allocatedResourceStatuses string{}, 8 currentVolumeAttributesClassName string?, ' +
      '9 modifyVolumeStatus ModifyVolumeStatus?, 10 healthStatus VolumeHealthStatus?',
    PersistentVolumeSource:
      '1 gcePersistentDisk GCEPersistentDiskVolumeSource?, ' +
      '2 awsElasticBlockStore AWSElasticBlockStoreVolumeSource?, 3 hostPath HostPathVolumeSource?, ' +
      '4 glusterfs GlusterfsPersistentVolumeSource?, 5 nfs NFSVolumeSource?, 6 rbd RBDPersistentVolumeSource?, ' +
      '7 iscsi ISCSIPersistentVolumeSource?, 8 cinder CinderPersistentVolumeSource?, ' +
      '9 cephfs CephFSPersistentVolumeSource?, 10 fc FCVolumeSource?, 11 flocker FlockerVolumeSource?, ' +
      '12 flexVolume FlexPersistentVolumeSource?, 13 azureFile AzureFilePersistentVolumeSource?, ' +
      '14 vsphereVolume VsphereVirtualDiskVolumeSource?, 15 quobyte QuobyteVolumeSource?, ' +
      '16 azureDisk AzureDiskVolumeSource?, 17 photonPersistentDisk PhotonPersistentDiskVolumeSource?, ' +
      '18 portworxVolume PortworxVolumeSource?, 19 scaleIO ScaleIOPersistentVolumeSource?, ' +
      '20 local LocalVolumeSource?, 21 storageos StorageOSPersistentVolumeSource?, ' +
      '22 csi CSIPersistentVolumeSource?',
    PersistentVolumeSpec:
      '1 capacity resource.Quantity{}, 2 persistentVolumeSource PersistentVolumeSource^, ' +
      '3 accessModes string[], 4 claimRef ObjectReference?, 5 persistentVolumeReclaimPolicy string, ' +
      '6 storageClassName string, 7 mountOptions string[], 8 volumeMode string?, ' +
      '9 nodeAffinity VolumeNodeAffinity?, 10 volumeAttributesClassName string?',
    PersistentVolumeStatus:
      '1 phase string, 2 message string, 3 reason string, 4 lastPhaseTransitionTime meta.v1.Time?',
    Pod: '1 metadata meta.v1.ObjectMeta, 2 spec PodSpec, 3 status PodStatus',
    PodCondition:
      '1 type string!, 7 observedGeneration int64, 2 status string!, 3 lastProbeTime meta.v1.Time, ' +
      '4 lastTransitionTime meta.v1.Time, 5 reason string, 6 message string',
    PodExtendedResourceClaimStatus:
      '1 requestMappings ContainerExtendedResourceRequest[], 2 resourceClaimName string!',
    PodIP: '1 ip string!',
    PodResourceClaimStatus: '1 name string!, 2 resourceClaimName string?',
    PodStatus:
      '17 observedGeneration int64, 1 phase string, 2 conditions PodCondition[], 3 message string, ' +
      '4 reason string, 11 nominatedNodeName string, 5 hostIP string, 16 hostIPs HostIP[], 6 podIP string, ' +
      '12 podIPs PodIP[], 7 startTime meta.v1.Time?, 10 initContainerStatuses ContainerStatus[], ' +
      '8 containerStatuses ContainerStatus[], 9 qosClass string, ' +
      '13 ephemeralContainerStatuses ContainerStatus[], 14 resize string, ' +
      '15 resourceClaimStatuses PodResourceClaimStatus[], ' +
      '18 extendedResourceClaimStatus PodExtendedResourceClaimStatus?, ' +
      '19 allocatedResources resource.Quantity{}, 20 resources ResourceRequirements?, ' +
      '21 nodeAllocatableResourceClaimStatuses NodeAllocatableResourceClaimStatus[], ' +
      '22 volumeHealth PodVolumeHealth[]',
    PodTemplate: '1 metadata meta.v1.ObjectMeta, 2 template PodTemplateSpec',
    PodVolumeHealth: '1 name string!, 2 healthConditions VolumeHealthCondition[], 3 lastTransitionTime meta.v1.Time',
    PortStatus: '1 port int32!, 2 protocol string!, 3 error string?',
    RBDPersistentVolumeSource:
      '1 monitors string[], 2 image string!, 3 fsType string, 4 pool string, 5 user string, 6 keyring string, ' +
      '7 secretRef SecretReference?, 8 readOnly bool',
    ReplicationController:
      '1 metadata meta.v1.ObjectMeta, 2 spec ReplicationControllerSpec, 3 status ReplicationControllerStatus',
    ReplicationControllerCondition:
      '1 type string!, 2 status string!, 3 lastTransitionTime meta.v1.Time, 4 reason string, 5 message string',
    ReplicationControllerSpec:
      '1 replicas int32?, 4 minReadySeconds int32, 2 selector string{}, 3 template PodTemplateSpec?',
    ReplicationControllerStatus:
      '1 replicas int32!, 2 fullyLabeledReplicas int32, 4 readyReplicas int32, 5 availableReplicas int32, ' +
      '3 observedGeneration int64, 6 conditions ReplicationControllerCondition[]',
    ResourceHealth: '1 resourceID string!, 2 health string, 6 message string?',
    ResourceQuota: '1 metadata meta.v1.ObjectMeta, 2 spec ResourceQuotaSpec, 3 status ResourceQuotaStatus',
    ResourceQuotaSpec: '1 hard resource.Quantity{}, 2 scopes string[], 3 scopeSelector ScopeSelector?',
    ResourceQuotaStatus: '1 hard resource.Quantity{}, 2 used resource.Quantity{}',
    ResourceStatus: '1 name string!, 2 resources ResourceHealth[]',
    ScaleIOPersistentVolumeSource:
      '1 gateway string!, 2 system string!, 3 secretRef SecretReference?, 4 sslEnabled bool, ' +
      '5 protectionDomain string, 6 storagePool string, 7 storageMode string, 8 volumeName string, ' +
      '9 fsType string, 10 readOnly bool',
    ScopeSelector: '1 matchExpressions ScopedResourceSelectorRequirement[]',
    ScopedResourceSelectorRequirement: '1 scopeName string!, 2 operator string!, 3 values string[]',
    Secret: '1 metadata meta.v1.ObjectMeta, 5 immutable bool?, 2 data bytes{}, 4 stringData string{}, 3 type string',
    SecretReference: '1 name string, 2 namespace string',
    Service: '1 metadata meta.v1.ObjectMeta, 2 spec ServiceSpec, 3 status ServiceStatus',
    ServiceAccount:
      '1 metadata meta.v1.ObjectMeta, 2 secrets ObjectReference[], 3 imagePullSecrets LocalObjectReference[], ' +
      '4 automountServiceAccountToken bool?',
    ServicePort:
      '1 name string, 2 protocol string, 6 appProtocol string?, 3 port int32!, ' +
      '4 targetPort intstr.IntOrString, 5 nodePort int32',
    ServiceSpec:
      '1 ports ServicePort[], 2 selector string{}, 3 clusterIP string, 18 clusterIPs string[], 4 type string, ' +
      '5 externalIPs string[], 7 sessionAffinity string, 8 loadBalancerIP string, ' +
      '9 loadBalancerSourceRanges string[], 10 externalName string, 11 externalTrafficPolicy string, ' +
      '12 healthCheckNodePort int32, 13 publishNotReadyAddresses bool, ' +
      '14 sessionAffinityConfig SessionAffinityConfig?, 19 ipFamilies string[], 17 ipFamilyPolicy string?, ' +
      '20 allocateLoadBalancerNodePorts bool?, 21 loadBalancerClass string?, 22 internalTrafficPolicy string?, ' +
      '23 trafficDistribution string?',
    ServiceStatus: '1 loadBalancer LoadBalancerStatus, 2 conditions meta.v1.Condition[]',
    SessionAffinityConfig: '1 clientIP ClientIPConfig?',
    StorageOSPersistentVolumeSource:
      '1 volumeName string, 2 volumeNamespace string, 3 fsType string, 4 readOnly bool, ' +
      '5 secretRef ObjectReference?',
    Taint: '1 key string!, 2 value string, 3 effect string!, 4 timeAdded meta.v1.Time?',
    VolumeHealthCondition: '1 status string!, 2 reason string!, 3 message string',
    VolumeHealthStatus: '1 healthConditions VolumeHealthCondition[], 2 lastTransitionTime meta.v1.Time',
    VolumeMountStatus:
      '1 name string!, 2 mountPath string!, 3 readOnly bool, 4 recursiveReadOnly string?, ' +
      '5 volumeStatus VolumeStatus?',
    VolumeNodeAffinity: '1 required NodeSelector?',
    VolumeStatus: '1 image ImageVolumeStatus?',
  },
};
