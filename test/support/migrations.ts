/**
 * The D1 migrations released before upgrades were expand-then-contract (docs/deploy.md says what that means for
 * rollbacks): test/unit/migrations.test.ts holds every later one to the rule, and test/integration/upgrade.test.ts
 * starts upgrades after the newest of these.
 */
export const BEFORE_EXPAND_THEN_CONTRACT: ReadonlySet<string> = new Set(["0003_credential_digests.sql"]);

/** The newest migration released before the rule: upgrades may start from any release after it. */
export const LAST_BEFORE_EXPAND_THEN_CONTRACT = [...BEFORE_EXPAND_THEN_CONTRACT].sort().at(-1)!;
