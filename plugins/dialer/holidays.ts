import Boom from '@hapi/boom';

import type { Db } from '../../core/db';


// A tenant's holidays: whole local days on which none of its numbers is called


export interface Holiday {
    date: string;                                // YYYY-MM-DD
    name: string | null;
}


const formatters = new Map<string, Intl.DateTimeFormat>();


const localDate = (zone: string, instant: number) => {

    let format = formatters.get(zone);
    if (!format) {
        format = new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' });
        formatters.set(zone, format);
    }

    return format.format(instant);               // en-CA writes YYYY-MM-DD
};


// When the holidays that hold at an instant in any of the zones are over (the first instant
// from which no zone's local date is a holiday); null when none holds

export const holidayUntil = (instant: Date, zones: readonly string[], holidays: ReadonlySet<string>): Date | null => {

    if (!holidays.size) {
        return null;
    }

    const onHoliday = (time: number) => zones.some((zone) => holidays.has(localDate(zone, time)));
    const step = 15 * 60_000;                    // every zone's midnight falls on a quarter hour
    let at = instant.getTime();
    for (let i = 0; i < 40 * 96 && onHoliday(at); ++i) {
        at = (Math.floor(at / step) + 1) * step;
    }

    return at === instant.getTime() ? null : new Date(at);
};


// The dates a dial may meet: from yesterday (a zone behind UTC) onwards. Every dial asks, so each
// process keeps a tenant's list for a minute; this process's own changes show at once, another
// process's within that minute.

const keepMs = 60_000;

const kept = new WeakMap<Db, Map<string, { at: number; dates: Promise<string[]> }>>();


const forget = (db: Db, tenantId: string) => kept.get(db)?.delete(tenantId);


export const upcoming = async (db: Db, tenantId: string, now: Date): Promise<Set<string>> => {

    let tenants = kept.get(db);
    if (!tenants) {
        tenants = new Map();
        kept.set(db, tenants);
    }

    let entry = tenants.get(tenantId);
    if (!entry || Date.now() - entry.at > keepMs) {
        const dates = db('tenant_holidays').where({ tenant_id: tenantId }).select(db.raw('to_char(date, \'YYYY-MM-DD\') AS date'))
            .then((rows: Array<{ date: string }>) => rows.map((row) => row.date));
        entry = { at: Date.now(), dates };
        tenants.set(tenantId, entry);
        dates.catch(() => forget(db, tenantId));
    }

    const from = new Date(now.getTime() - 86_400_000).toISOString().slice(0, 10);
    return new Set((await entry.dates).filter((date) => date >= from));
};


const columns = (db: Db) => [db.raw('to_char(date, \'YYYY-MM-DD\') AS date'), 'name'];


export const list = async (db: Db, tenantId: string): Promise<Holiday[]> => {

    return await db('tenant_holidays').where({ tenant_id: tenantId }).orderBy('date').select(columns(db));
};


// Adding a date twice renames it

export const add = async (db: Db, tenantId: string, input: { date: string; name?: string | null }): Promise<Holiday> => {

    const [holiday] = await db('tenant_holidays')
        .insert({ tenant_id: tenantId, date: input.date, name: input.name || null })
        .onConflict(['tenant_id', 'date']).merge(['name'])
        .returning(columns(db) as never[]);

    forget(db, tenantId);
    return holiday as Holiday;
};


export const remove = async (db: Db, tenantId: string, date: string) => {

    if (!await db('tenant_holidays').where({ tenant_id: tenantId, date }).delete()) {
        throw Boom.notFound('Holiday not found');
    }

    forget(db, tenantId);
};
