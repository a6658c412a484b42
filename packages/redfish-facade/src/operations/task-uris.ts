// Where the facade serves its own tasks. Cluster task ids never contain `_`, so they never look
// like a member's prefixed task.
export const TASK_SERVICE_URI = "/redfish/v1/TaskService";
export const TASKS_URI = `${TASK_SERVICE_URI}/Tasks`;
export const TASK_MONITORS_URI = `${TASK_SERVICE_URI}/TaskMonitors`;

export function taskUri(taskId: string): string {
  return `${TASKS_URI}/${taskId}`;
}

/** The task monitor a 202 names in `Location`. */
export function taskMonitorUri(taskId: string): string {
  return `${TASK_MONITORS_URI}/${taskId}`;
}

export function subTaskUri(taskId: string, subTaskId: string): string {
  return `${TASKS_URI}/${taskId}/SubTasks/${subTaskId}`;
}
