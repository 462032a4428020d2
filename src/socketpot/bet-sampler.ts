import type { Bet } from "../queue/events.js";

/**
 * Keeps the bet stream of a busy app to at most `perWindow` bets per window: bets are collected during a window
 * and, when it ends, the most interesting go out: largest |profit| first, then largest wager.
 */
export class BetSampler {
  private collected: Bet[] = [];

  constructor(private readonly perWindow: number) {}

  /** Adds a bet; true when it opens a new window (the caller schedules {@link take} at the window's end). */
  add(bet: Bet): boolean {
    this.collected.push(bet);
    // Memory stays bounded however fast bets come: past a few windows' worth, only the best are kept.
    if (this.collected.length > this.perWindow * 4 + 64) this.collected = this.collected.sort(byInterest).slice(0, this.perWindow);
    return this.collected.length === 1;
  }

  /** Ends the window: its most interesting bets, most interesting first. */
  take(): Bet[] {
    const chosen = this.collected.sort(byInterest).slice(0, this.perWindow);
    this.collected = [];
    return chosen;
  }
}

export function byInterest(a: Bet, b: Bet): number {
  return Math.abs(b.profit) - Math.abs(a.profit) || b.wager - a.wager;
}
