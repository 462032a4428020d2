import { seededDatabase } from "../../scripts/local-server.mjs";

/**
 * Builds the migrated and seeded local state every test server copies, once, before the test files (running two
 * at a time) would each find it missing and build it themselves.
 */
export default async function setup(): Promise<void> {
  await seededDatabase();
}
