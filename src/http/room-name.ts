/** The name of an app's Durable Object: every request and event of one app reaches the same instance. */
export function roomName(appId: number): string {
  return `app:${appId}`;
}
