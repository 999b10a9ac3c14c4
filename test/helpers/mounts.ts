// The mount points of this mount namespace as a set, for tests that check what is really mounted
// (the agent's mountinfo reader; the runtime itself no longer reads mountinfo).
import { mountPoints as mountinfoPoints } from '../../src/agent/volumes/mounts.ts';

export async function mountPoints(): Promise<Set<string>> {
  return new Set(mountinfoPoints());
}
