export interface LazyFunctions {
  code: string;
  map: { toString(): string };
  rewritten: number;
  kept: number;
}
export function lazyFunctions(code: string, source: string): LazyFunctions;
