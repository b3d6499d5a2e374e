import type { Outcome } from '../dialer/outcomes';


// What the dashboard calls a success and a failure, from the dialer's outcomes. A success is a
// conversation with a person, whether or not the goal was reached (goal_achieved is its own
// outcome in the breakdown); a failure reached no one: the line was busy, nobody picked up, the
// number or the provider refused, or the call could not be placed. A voicemail is neither: a
// machine answered. So total_calls = successful_calls + failed_calls + voicemails.

export const successful = new Set<Outcome | 'unknown'>(['goal_achieved', 'goal_not_achieved', 'answered']);

export const failed = new Set<Outcome | 'unknown'>(['busy', 'no_answer', 'failed', 'rejected', 'invalid', 'not_placed']);


// Shares of a total to four places that add up to exactly 1: each share rounded down, then the
// units left go to the largest remainders (ties to the larger count, then the earlier one)

const places = 10_000;


export const shares = (counts: number[]): number[] => {

    const total = counts.reduce((sum, count) => sum + count, 0);
    if (!total) {
        return counts.map(() => 0);
    }

    const exact = counts.map((count) => count * places / total);
    const units = exact.map(Math.floor);
    const left = places - units.reduce((sum, unit) => sum + unit, 0);
    const order = exact.map((value, i) => i).sort((a, b) => (exact[b]! - units[b]!) - (exact[a]! - units[a]!) || counts[b]! - counts[a]! || a - b);
    for (const i of order.slice(0, left)) {
        units[i] = units[i]! + 1;
    }

    return units.map((unit) => unit / places);
};
