// When a lead may be called: inside the campaign's window (its days and hours, in its time zone,
// or in the lead's own when the campaign names none) and, unless the campaign turns it off,
// between 08:00 and 21:00 in every time zone of the called number (or the hours of the calling
// rules that match it).


export interface CallingConfig {
    time_window_start?: string;                  // HH:MM
    time_window_end?: string;
    timezone?: string;
    days?: string[];                             // mon..sun
    enforce_local_hours?: boolean;
}

export type Decision =
    | { allowed: true }
    | { allowed: false; reason: 'outside_campaign_window' | LocalHours['reason']; next: Date | null };


// The local hours of the called party: these by default, or those of the calling rules that
// match the number (rules.ts)

export interface LocalHours {
    start: string;
    end: string;
    reason: 'outside_local_hours' | 'outside_rule_hours';
}

export const localHours: LocalHours = { start: '08:00', end: '21:00', reason: 'outside_local_hours' };

const horizonDays = 8;


interface Local {
    date: { year: number; month: number; day: number };
    minutes: number;                             // since local midnight
    weekday: string;
}


const formatters = new Map<string, Intl.DateTimeFormat>();


const local = (zone: string, instant: number): Local => {

    let format = formatters.get(zone);
    if (!format) {
        format = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', weekday: 'short' });
        formatters.set(zone, format);
    }

    const parts = Object.fromEntries(format.formatToParts(instant).map((part) => [part.type, part.value]));
    return {
        date: { year: Number(parts.year), month: Number(parts.month), day: Number(parts.day) },
        minutes: Number(parts.hour) * 60 + Number(parts.minute),
        weekday: parts.weekday!.toLowerCase()
    };
};


const minutesOf = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));


// The instant at which the wall clock of a zone shows the given local date and time

const instantOf = (zone: string, date: Local['date'], minutes: number) => {

    const wall = Date.UTC(date.year, date.month - 1, date.day, 0, minutes);
    const offset = (at: number) => {

        const seen = local(zone, at);
        return Date.UTC(seen.date.year, seen.date.month - 1, seen.date.day, 0, seen.minutes) - Math.floor(at / 60_000) * 60_000;
    };

    const guess = wall - offset(wall);
    return wall - offset(guess);
};


interface Window {
    zone: string;
    start: number;
    end: number;
    days?: string[];
}


const inside = (window: Window, instant: number) => {

    const seen = local(window.zone, instant);
    return seen.minutes >= window.start && seen.minutes < window.end && (!window.days || window.days.includes(seen.weekday));
};


// Candidate openings: each window's start on each of the coming days. The days are counted on the
// zone's calendar: stepping 24 hours from late evening skips the date of a 23-hour day (the
// change to summer time), and with it that day's opening.

const openings = (window: Window, from: number) => {

    const first = local(window.zone, from).date;
    const result: number[] = [];
    for (let i = 0; i <= horizonDays; ++i) {
        const day = new Date(Date.UTC(first.year, first.month - 1, first.day + i));
        const date = { year: day.getUTCFullYear(), month: day.getUTCMonth() + 1, day: day.getUTCDate() };
        result.push(instantOf(window.zone, date, window.start));
    }

    return result;
};


const windowsFor = (config: CallingConfig, leadZones: readonly string[], hours: LocalHours) => {

    const zones = leadZones.length ? leadZones : (config.timezone ? [config.timezone] : []);
    const campaign: Window[] = [];
    if (config.time_window_start || config.time_window_end || config.days) {
        const start = minutesOf(config.time_window_start ?? '00:00');
        const end = config.time_window_end ? minutesOf(config.time_window_end) : 24 * 60;
        for (const zone of config.timezone ? [config.timezone] : (zones.length ? zones : ['UTC'])) {
            campaign.push({ zone, start, end, days: config.days });
        }
    }

    const localRule = config.enforce_local_hours === false ? [] : zones.map((zone) => ({ zone, start: minutesOf(hours.start), end: minutesOf(hours.end) }));
    return { campaign, local: localRule };
};


export const decide = (now: Date, config: CallingConfig, leadZones: readonly string[], hours: LocalHours = localHours): Decision => {

    const windows = windowsFor(config, leadZones, hours);
    const all = [...windows.campaign, ...windows.local];
    const at = now.getTime();
    const allowedAt = (instant: number) => all.every((window) => inside(window, instant));

    if (allowedAt(at)) {
        return { allowed: true };
    }

    const reason = windows.campaign.every((window) => inside(window, at)) ? hours.reason : 'outside_campaign_window';
    const candidates = all.flatMap((window) => openings(window, at)).filter((instant) => instant > at).sort((a, b) => a - b);
    const next = candidates.find(allowedAt);
    return { allowed: false, reason, next: next === undefined ? null : new Date(next) };
};
