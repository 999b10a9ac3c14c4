// Protobuf field facts for batch/v1.
// Each entry lists a message's fields in the compact notation described in ../schema.ts
// (field number, JSON name, type, and how Go's JSON encoding treats the field). Facts taken
// from k8s.io/api and k8s.io/apimachinery generated.proto files and Go struct tags.
import type { PackageMessages } from '../schema.ts';

export const BATCH_V1: PackageMessages = {
  pkg: 'batch.v1',
  messages: {
    CronJob: '1 metadata meta.v1.ObjectMeta, 2 spec CronJobSpec, 3 status CronJobStatus',
    CronJobSpec:
      '1 schedule string!, 8 timeZone string?, 2 startingDeadlineSeconds int64?, 3 concurrencyPolicy string, ' +
      '4 suspend bool?, 5 jobTemplate JobTemplateSpec, 6 successfulJobsHistoryLimit int32?, ' +
      '7 failedJobsHistoryLimit int32?',
    CronJobStatus:
      '1 active core.v1.ObjectReference[], 4 lastScheduleTime meta.v1.Time?, ' +
      '5 lastSuccessfulTime meta.v1.Time?',
    Job: '1 metadata meta.v1.ObjectMeta, 2 spec JobSpec, 3 status JobStatus',
    JobCondition:
      '1 type string!, 2 status string!, 3 lastProbeTime meta.v1.Time, 4 lastTransitionTime meta.v1.Time, ' +
      '5 reason string, 6 message string',
    JobSchedulingConfiguration: '',
    JobSpec:
      '1 parallelism int32?, 2 completions int32?, 3 activeDeadlineSeconds int64?, ' +
      '11 podFailurePolicy PodFailurePolicy?, 16 successPolicy SuccessPolicy?, 7 backoffLimit int32?, ' +
      '12 backoffLimitPerIndex int32?, 13 maxFailedIndexes int32?, 4 selector meta.v1.LabelSelector?, ' +
      '5 manualSelector bool?, 6 template core.v1.PodTemplateSpec, 8 ttlSecondsAfterFinished int32?, ' +
      '9 completionMode string?, 10 suspend bool?, 14 podReplacementPolicy string?, 15 managedBy string?, ' +
      '17 scheduling JobSchedulingConfiguration?',
    JobStatus:
      '1 conditions JobCondition[], 2 startTime meta.v1.Time?, 3 completionTime meta.v1.Time?, 4 active int32, ' +
      '5 succeeded int32, 6 failed int32, 11 terminating int32?, 7 completedIndexes string, ' +
      '10 failedIndexes string?, 8 uncountedTerminatedPods UncountedTerminatedPods?, 9 ready int32?',
    JobTemplateSpec: '1 metadata meta.v1.ObjectMeta, 2 spec JobSpec',
    PodFailurePolicy: '1 rules PodFailurePolicyRule[]',
    PodFailurePolicyOnExitCodesRequirement: '1 containerName string?, 2 operator string!, 3 values int32[]',
    PodFailurePolicyOnPodConditionsPattern: '1 type string!, 2 status string!',
    PodFailurePolicyRule:
      '1 action string!, 2 onExitCodes PodFailurePolicyOnExitCodesRequirement?, ' +
      '3 onPodConditions PodFailurePolicyOnPodConditionsPattern[]',
    SuccessPolicy: '1 rules SuccessPolicyRule[]',
    SuccessPolicyRule: '1 succeededIndexes string?, 2 succeededCount int32?',
    UncountedTerminatedPods: '1 succeeded string[], 2 failed string[]',
  },
};
