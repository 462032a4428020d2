import type { Unstable_Config } from "wrangler";

export interface ConfigProblem {
  problem: string;
  fix: string;
}
export function configProblems(config: Unstable_Config): ConfigProblem[];
export function configNotes(config: Unstable_Config): string[];
