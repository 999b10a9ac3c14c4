// Protobuf field facts for the smaller API groups: coordination.v1, discovery.v1, events.v1, scheduling.v1, node.v1, policy.v1, autoscaling.v1,
// authentication.v1, certificates.v1.
// Each entry lists a message's fields in the compact notation described in ../schema.ts
// (field number, JSON name, type, and how Go's JSON encoding treats the field). Facts taken
// from k8s.io/api and k8s.io/apimachinery generated.proto files and Go struct tags.
import type { PackageMessages } from '../schema.ts';

export const COORDINATION_V1: PackageMessages = {
  pkg: 'coordination.v1',
  messages: {
    Lease: '1 metadata meta.v1.ObjectMeta, 2 spec LeaseSpec',
    LeaseSpec:
      '1 holderIdentity string?, 2 leaseDurationSeconds int32?, 3 acquireTime meta.v1.MicroTime?, ' +
      '4 renewTime meta.v1.MicroTime?, 5 leaseTransitions int32?, 6 strategy string?, ' +
      '7 preferredHolder string?',
  },
};

export const DISCOVERY_V1: PackageMessages = {
  pkg: 'discovery.v1',
  messages: {
    Endpoint:
      '1 addresses string[], 2 conditions EndpointConditions, 3 hostname string?, ' +
      '4 targetRef core.v1.ObjectReference?, 5 deprecatedTopology string{}, 6 nodeName string?, ' +
      '7 zone string?, 8 hints EndpointHints?',
    EndpointConditions: '1 ready bool?, 2 serving bool?, 3 terminating bool?',
    EndpointHints: '1 forZones ForZone[], 2 forNodes ForNode[]',
    EndpointPort: '1 name string?, 2 protocol string?, 3 port int32?, 4 appProtocol string?',
    EndpointSlice:
      '1 metadata meta.v1.ObjectMeta, 4 addressType string!, 2 endpoints Endpoint[], 3 ports EndpointPort[]',
    ForNode: '1 name string!',
    ForZone: '1 name string!',
  },
};

export const EVENTS_V1: PackageMessages = {
  pkg: 'events.v1',
  messages: {
    Event:
      '1 metadata meta.v1.ObjectMeta, 2 eventTime meta.v1.MicroTime, 3 series EventSeries?, ' +
      '4 reportingController string, 5 reportingInstance string, 6 action string, 7 reason string, ' +
      '8 regarding core.v1.ObjectReference, 9 related core.v1.ObjectReference?, 10 note string, ' +
      '11 type string, 12 deprecatedSource core.v1.EventSource, 13 deprecatedFirstTimestamp meta.v1.Time, ' +
      '14 deprecatedLastTimestamp meta.v1.Time, 15 deprecatedCount int32',
    EventSeries: '1 count int32!, 2 lastObservedTime meta.v1.MicroTime',
  },
};

export const SCHEDULING_V1: PackageMessages = {
  pkg: 'scheduling.v1',
  messages: {
    PriorityClass:
      '1 metadata meta.v1.ObjectMeta, 2 value int32!, 3 globalDefault bool, 4 description string, ' +
      '5 preemptionPolicy string?',
  },
};

export const NODE_V1: PackageMessages = {
  pkg: 'node.v1',
  messages: {
    Overhead: '1 podFixed resource.Quantity{}',
    RuntimeClass: '1 metadata meta.v1.ObjectMeta, 2 handler string!, 3 overhead Overhead?, 4 scheduling Scheduling?',
    Scheduling: '1 nodeSelector string{}, 2 tolerations core.v1.Toleration[]',
  },
};

export const POLICY_V1: PackageMessages = {
  pkg: 'policy.v1',
  messages: {
    Eviction: '1 metadata meta.v1.ObjectMeta, 2 deleteOptions meta.v1.DeleteOptions?',
    PodDisruptionBudget:
      '1 metadata meta.v1.ObjectMeta, 2 spec PodDisruptionBudgetSpec, 3 status PodDisruptionBudgetStatus',
    PodDisruptionBudgetSpec:
      '1 minAvailable intstr.IntOrString?, 2 selector meta.v1.LabelSelector?, ' +
      '3 maxUnavailable intstr.IntOrString?, 4 unhealthyPodEvictionPolicy string?',
    PodDisruptionBudgetStatus:
      '1 observedGeneration int64, 2 disruptedPods meta.v1.Time{}, 3 disruptionsAllowed int32!, ' +
      '4 currentHealthy int32!, 5 desiredHealthy int32!, 6 expectedPods int32!, ' +
      '7 conditions meta.v1.Condition[]',
  },
};

/** policy/v1beta1 Eviction: pods/eviction still accepts it (kube's EvictionREST.AcceptsGroupVersion). */
export const POLICY_V1BETA1: PackageMessages = {
  pkg: 'policy.v1beta1',
  messages: { Eviction: '1 metadata meta.v1.ObjectMeta, 2 deleteOptions meta.v1.DeleteOptions?' },
};

export const AUTOSCALING_V1: PackageMessages = {
  pkg: 'autoscaling.v1',
  messages: {
    CrossVersionObjectReference: '1 kind string!, 2 name string!, 3 apiVersion string',
    HorizontalPodAutoscaler:
      '1 metadata meta.v1.ObjectMeta, 2 spec HorizontalPodAutoscalerSpec, ' +
      '3 status HorizontalPodAutoscalerStatus',
    HorizontalPodAutoscalerSpec:
      '1 scaleTargetRef CrossVersionObjectReference, 2 minReplicas int32?, 3 maxReplicas int32!, ' +
      '4 targetCPUUtilizationPercentage int32?',
    HorizontalPodAutoscalerStatus:
      '1 observedGeneration int64?, 2 lastScaleTime meta.v1.Time?, 3 currentReplicas int32!, ' +
      '4 desiredReplicas int32!, 5 currentCPUUtilizationPercentage int32?',
    Scale: '1 metadata meta.v1.ObjectMeta, 2 spec ScaleSpec, 3 status ScaleStatus',
    ScaleSpec: '1 replicas int32',
    ScaleStatus: '1 replicas int32!, 2 selector string',
  },
};

export const AUTHENTICATION_V1: PackageMessages = {
  pkg: 'authentication.v1',
  messages: {
    AttestationValue: '[] string',
    BoundObjectReference: '1 kind string, 2 apiVersion string, 3 name string, 4 uid string',
    ExtraValue: '[] string',
    SelfSubjectReview: '1 metadata meta.v1.ObjectMeta, 2 status SelfSubjectReviewStatus',
    SelfSubjectReviewStatus: '1 userInfo UserInfo',
    TokenRequest: '1 metadata meta.v1.ObjectMeta, 2 spec TokenRequestSpec, 3 status TokenRequestStatus',
    TokenRequestSpec:
      '1 audiences string[], 4 expirationSeconds int64?, 3 boundObjectRef BoundObjectReference?, ' +
      '5 attestations AttestationValue{}',
    TokenRequestStatus: '1 token string!, 2 expirationTimestamp meta.v1.Time',
    TokenReview: '1 metadata meta.v1.ObjectMeta, 2 spec TokenReviewSpec, 3 status TokenReviewStatus',
    TokenReviewSpec: '1 token string, 2 audiences string[]',
    TokenReviewStatus: '1 authenticated bool, 2 user UserInfo, 4 audiences string[], 3 error string',
    UserInfo: '1 username string, 2 uid string, 3 groups string[], 4 extra ExtraValue{}',
  },
};

export const CERTIFICATES_V1: PackageMessages = {
  pkg: 'certificates.v1',
  messages: {
    CertificateSigningRequest:
      '1 metadata meta.v1.ObjectMeta, 2 spec CertificateSigningRequestSpec, 3 status CertificateSigningRequestStatus',
    CertificateSigningRequestCondition:
      '1 type string!, 6 status string!, 2 reason string, 3 message string, 4 lastUpdateTime meta.v1.Time, ' +
      '5 lastTransitionTime meta.v1.Time',
    CertificateSigningRequestSpec:
      '1 request bytes!, 7 signerName string!, 8 expirationSeconds int32?, 5 usages string[], 2 username string, ' +
      '3 uid string, 4 groups string[], 6 extra ExtraValue{}',
    CertificateSigningRequestStatus: '1 conditions CertificateSigningRequestCondition[], 2 certificate bytes',
    ExtraValue: '[] string',
  },
};
