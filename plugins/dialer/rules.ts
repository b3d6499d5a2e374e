import { holidayUntil } from './holidays';
import { decide, localHours, type CallingConfig, type Decision, type LocalHours } from './windows';


// The calling rules that match a number (rows of calling_rules: its country's, and its region's
// when its prefix names one) narrow to the strictest: the latest start, the earliest end, the
// fewest calls per 24 hours. A region narrows its country's hours: a country without a row of
// its own keeps the default local hours under its regions' rules.

export interface CallingRule {
    region: string | null;
    local_start: string;                         // HH:MM[:SS]
    local_end: string;
    max_calls_per_24h: number | null;
}

export interface Strictest {
    hours: LocalHours;
    maxCallsPer24h: number | null;
}


const dayMs = 86_400_000;

const countryDefault: CallingRule = { region: null, local_start: localHours.start, local_end: localHours.end, max_calls_per_24h: null };


export const strictest = (rules: readonly CallingRule[]): Strictest => {

    if (!rules.length) {
        return { hours: localHours, maxCallsPer24h: null };
    }

    const all = rules.some((rule) => rule.region === null) ? rules : [countryDefault, ...rules];
    const start = all.map((rule) => rule.local_start.slice(0, 5)).sort().at(-1)!;
    const end = all.map((rule) => rule.local_end.slice(0, 5)).sort()[0]!;
    const limits = all.map((rule) => rule.max_calls_per_24h).filter((max): max is number => max !== null);

    // A region's hours are named as its rule in the decisions, the country's as local hours

    const regional = all.some((rule) => rule.region && (rule.local_start.slice(0, 5) === start || rule.local_end.slice(0, 5) === end));
    return {
        hours: { start, end, reason: regional ? 'outside_rule_hours' : 'outside_local_hours' },
        maxCallsPer24h: limits.length ? Math.min(...limits) : null
    };
};


// Over the limit, the number may be called again once enough of its calls are 24 hours old to
// leave room for one more. Null: it may be called now.

export const callsAllowAt = (callTimes: readonly Date[], max: number | null, now: Date): Date | null => {

    if (max === null) {
        return null;
    }

    const recent = callTimes.map((time) => time.getTime()).filter((time) => time > now.getTime() - dayMs).sort((a, b) => a - b);
    if (recent.length < max) {
        return null;
    }

    return new Date(recent[recent.length - max]! + dayMs);
};


type Reason = Exclude<Decision, { allowed: true }>['reason'] | 'holiday';

export type Plan = { allowed: true } | { allowed: false; reason: Reason; next: Date | null };


// The window decision, with the tenant's holidays (in the number's local dates) on top: a
// holiday moves the search to its end, and the window finds the first opening after it.
// The first reason found is the one the decision gives.

export const plan = (now: Date, config: CallingConfig, zones: readonly string[], hours: LocalHours, holidays: ReadonlySet<string>): Plan => {

    const holidayZones = zones.length ? zones : [config.timezone ?? 'UTC'];
    let at = now;
    let reason: Reason | undefined;
    for (let i = 0; i < 60; ++i) {
        const until = holidayUntil(at, holidayZones, holidays);
        if (until) {
            reason ??= 'holiday';
            at = until;
            continue;
        }

        const decision = decide(at, config, zones, hours);
        if (decision.allowed) {
            return at === now ? decision : { allowed: false, reason: reason!, next: at };
        }

        reason ??= decision.reason;
        if (!decision.next) {
            return { allowed: false, reason, next: null };
        }

        at = decision.next;
    }

    return { allowed: false, reason: reason!, next: null };
};
