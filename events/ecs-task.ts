/**
 * "ECS Task State Change" events (sample: `events/samples/ecs-task-stopped.json`, shaped as
 * in the ECS docs), and the pattern of a stage's "a task stopped with a non-zero exit" alert.
 */
export const TASK_STATE_CHANGE = 'ECS Task State Change';

/**
 * EventBridge pattern (JSON form) of the tasks of one cluster that stopped because their
 * essential container exited (`stopCode` EssentialContainerExited: the app crashed or quit) with
 * a non-zero code (numeric matching). Tasks a deploy or a scale-in stops have the stop code
 * ServiceSchedulerInitiated and exit 143 after SIGTERM: they are not alerts.
 */
export function taskExitedPattern(clusterArn: string) {
  return {
    source: ['aws.ecs'],
    'detail-type': [TASK_STATE_CHANGE],
    detail: {
      clusterArn: [clusterArn],
      lastStatus: ['STOPPED'],
      stopCode: ['EssentialContainerExited'],
      containers: { exitCode: [{ numeric: ['>', 0] }] },
    },
  };
}
