import type { Readable } from 'stream';
import { finished } from 'stream/promises';
import { setImmediate } from 'timers/promises';

import type { Knex } from 'knex';
import type Pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

import { readContacts, type Contact, type ContactBatch, type RowError } from './csv';
import type { CountryCode } from './phone';


export interface ImportOptions {
    tenantId: string;
    campaignId: string;
    defaultRegion?: CountryCode;
    skipDuplicates?: boolean;
    maxRows?: number;
    maxBytes?: number;
    maxErrors?: number;
    batchSize?: number;
    requireConsent?: boolean;                    // the campaign's calling_config.require_consent
}

export interface ImportResult {
    total_rows: number;
    imported: number;
    failed: number;
    duplicates_skipped: number;
    without_consent?: number;                    // only for a campaign that requires consent
    errors: RowError[];
}


const defaults = {
    defaultRegion: 'US' as CountryCode,
    skipDuplicates: true,
    maxRows: 1_000_000,
    maxBytes: 256 * 1024 * 1024,
    maxErrors: 100,
    batchSize: 10000
};


// COPY text format: one line per row, tab between columns, \N for null, and backslash, tab and
// line breaks escaped inside values. Arrays are PostgreSQL array literals inside that.

const copyEscapes: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };


const copyText = (value: string) => (/[\\\n\r\t]/.test(value) ? value.replace(/[\\\n\r\t]/g, (char) => copyEscapes[char]!) : value);


const copyNullable = (value: string | null) => (value === null ? '\\N' : copyText(value));


const arrayLiteral = (items: readonly string[]) => `{${items.map((item) => `"${item.replace(/["\\]/g, '\\$&')}"`).join(',')}}`;


const stagingColumns = 'phone_number, first_name, last_name, email, country, timezones, custom_fields, priority, is_high_value, tags, consent_at, consent_source';


// The time zones of a number are one shared array per prefix, so their literal is made once

const copyLine = (contact: Contact, zoneLiterals: Map<readonly string[], string>) => {

    let zones = zoneLiterals.get(contact.timezones);
    if (zones === undefined) {
        zones = copyText(arrayLiteral(contact.timezones));
        zoneLiterals.set(contact.timezones, zones);
    }

    return `${contact.phone_number}\t${copyNullable(contact.first_name)}\t${copyNullable(contact.last_name)}\t${copyNullable(contact.email)}\t${copyNullable(contact.country)}\t${zones}\t${copyText(JSON.stringify(contact.custom_fields))}\t${contact.priority}\t${contact.is_high_value ? 't' : 'f'}\t${contact.tags.length ? copyText(arrayLiteral(contact.tags)) : '{}'}\t${contact.consent_at ?? '\\N'}\t${copyNullable(contact.consent_source ?? null)}\n`;
};


// One chunk of the file holds the first row of each of its numbers (the repeats are duplicates at
// once), staged with COPY, then inserted unless the campaign already has the number. That covers
// the earlier chunks of this file too, since they are inserted in row order (the partial unique
// index ignores deleted leads). Inserting in number order keeps the index pages at hand.

const insertSql = `
    INSERT INTO leads (tenant_id, campaign_id, phone_number, first_name, last_name, email, country, timezones, custom_fields, priority, is_high_value, tags, consent_at, consent_source, status)
    SELECT $1, $2, s.phone_number, s.first_name, s.last_name, s.email, s.country, s.timezones, s.custom_fields, s.priority, s.is_high_value, s.tags, s.consent_at, s.consent_source,
           CASE WHEN d.phone_hash IS NULL THEN 'pending' ELSE 'dnc' END
    FROM lead_import s
    LEFT JOIN dnc_numbers d ON d.tenant_id = $1 AND d.phone_hash = encode(sha256(convert_to(s.phone_number, 'UTF8')), 'hex')
    ORDER BY s.phone_number
    ON CONFLICT (campaign_id, phone_number) WHERE status <> 'deleted' DO NOTHING`;


// The COPY text of a chunk is written into bytes kept from one chunk to the next, so it holds no
// strings while it waits for PostgreSQL and leaves no garbage behind: at a million rows, that text
// promoted to the old generation while it waited added about 100 MB to the process's peak.

class CopyText {

    bytes = Buffer.allocUnsafe(1024 * 1024);
    length = 0;

    append(text: string) {

        const most = text.length * 3;                                   // UTF-8 bytes of a UTF-16 code unit, at most
        if (this.length + most > this.bytes.length) {
            const bigger = Buffer.allocUnsafe(Math.max(2 * this.bytes.length, this.length + most));
            this.bytes.copy(bigger, 0, 0, this.length);
            this.bytes = bigger;
        }

        this.length += this.bytes.write(text, this.length);
    }
}


interface Chunk {
    text: CopyText;
    numbers: Set<string>;
    listing: boolean;                                           // whether its duplicates are listed
    staged: Array<[row: number, phone: string, raw: string]>;  // only when listing
    duplicates: RowError[];                                     // only when listing
}


const duplicate = (row: number, phone: string): RowError => ({ row, error: 'Duplicate phone number', phone });


// Answers the duplicates of the chunk when it lists them, else only how many rows it inserted

const loadChunk = async (connection: Pg.PoolClient, chunk: Chunk, params: unknown[]) => {

    const copy = connection.query(copyFrom(`COPY lead_import (${stagingColumns}) FROM STDIN`));
    await finished(copy.end(chunk.text.bytes.subarray(0, chunk.text.length)));
    const inserted = await connection.query<{ phone_number: string }>(chunk.listing ? `${insertSql} RETURNING phone_number` : insertSql, params);
    await connection.query('TRUNCATE lead_import');

    if (!chunk.listing) {
        return { imported: inserted.rowCount!, duplicates: [] };
    }

    const kept = new Set(inserted.rows.map(({ phone_number: phone }) => phone));
    const refused = chunk.staged.filter(([, phone]) => !kept.has(phone)).map(([row, , raw]) => duplicate(row, raw));
    return { imported: kept.size, duplicates: [...chunk.duplicates, ...refused] };
};


interface Tally {
    valid: number;
    failed: number;
    imported: number;
    errors: RowError[];
    duplicates: RowError[];
}


const firstErrors = (errors: RowError[], max: number) => errors.sort((a, b) => a.row - b.row).slice(0, max);


// Rows are read a hundred at a time and turned into COPY text at once, so their objects die
// young instead of being kept while their chunk waits for PostgreSQL. The first chunk is small, so
// PostgreSQL starts on it while the rest of the file is parsed.

const readSize = 100;
const firstChunkSize = 1000;


// How many parsed chunks may wait for PostgreSQL before parsing waits for them: enough to ride
// out the uneven time chunks take, few enough to keep memory flat

const chunksAhead = 2;


const stage = async (connection: Pg.PoolClient, batches: AsyncIterable<ContactBatch>, tally: Tally, settings: typeof defaults & ImportOptions) => {

    const params = [settings.tenantId, settings.campaignId];
    const listing = !settings.skipDuplicates && settings.maxErrors > 0;
    const zoneLiterals = new Map<readonly string[], string>();
    const pending: Array<ReturnType<typeof loadChunk>> = [];
    const texts: CopyText[] = [];                                      // those of chunks already copied

    const newChunk = (list: boolean): Chunk => {

        const text = texts.pop() ?? new CopyText();
        text.length = 0;
        return { text, numbers: new Set(), listing: list, staged: [], duplicates: [] };
    };

    let chunk = newChunk(listing);
    let size = Math.min(firstChunkSize, settings.batchSize);

    const settle = async () => {

        const { imported, duplicates } = await pending.shift()!;
        tally.imported += imported;
        if (duplicates.length) {
            tally.duplicates = firstErrors([...tally.duplicates, ...duplicates], settings.maxErrors);
        }
    };

    // Each chunk starts once the one before it is done, and runs while the next is parsed

    const send = async () => {

        const next = chunk;
        const loading = (pending.at(-1) ?? Promise.resolve()).then(async () => {

            const loaded = await loadChunk(connection, next, params);
            texts.push(next.text);                                      // its bytes are sent: the socket no longer holds them
            return loaded;
        });
        loading.catch(() => undefined);                                 // awaited below, possibly after it failed
        pending.push(loading);

        chunk = newChunk(listing && tally.duplicates.length < settings.maxErrors);
        size = settings.batchSize;
        if (pending.length > chunksAhead) {
            await settle();
        }
    };

    try {
        for await (const { contacts, errors } of batches) {
            tally.failed += errors.length;
            tally.errors.push(...errors.slice(0, settings.maxErrors - tally.errors.length));
            tally.valid += contacts.length;

            for (const contact of contacts) {
                if (chunk.numbers.has(contact.phone_number)) {
                    if (chunk.listing) {
                        chunk.duplicates.push(duplicate(contact.row, contact.raw_phone));
                    }

                    continue;
                }

                chunk.numbers.add(contact.phone_number);
                if (chunk.listing) {
                    chunk.staged.push([contact.row, contact.phone_number, contact.raw_phone]);
                }

                chunk.text.append(copyLine(contact, zoneLiterals));
            }

            if (chunk.numbers.size >= size) {
                await send();
            }

            // PostgreSQL's answers are read between batches, so it is handed its next statement
            // within a batch's time, however long the input keeps this process busy

            await setImmediate();
        }

        if (chunk.numbers.size) {
            await send();
        }

        while (pending.length) {
            await settle();
        }
    }
    finally {
        await Promise.allSettled(pending);                             // the transaction ends only once its connection is idle
    }
};


// A campaign that requires consent never dials the leads without it (calling_config.require_consent)

export const requiresConsent = (campaign: object) => (campaign as { calling_config?: { require_consent?: boolean } | null }).calling_config?.require_consent === true;


// For such a campaign the import says how many of its rows lack consent. They are the rows this
// transaction inserted (their created_at is the transaction's now()), so no row has to be
// returned to count them.

const withoutConsent = async (trx: Knex.Transaction, campaignId: string, required: boolean | undefined) => {

    if (!required) {
        return {};
    }

    const [{ count }] = await trx('leads').where({ campaign_id: campaignId }).whereNull('consent_at').whereNot('status', 'deleted').where('created_at', trx.raw('now()')).count({ count: '*' });
    return { without_consent: Number(count) };
};


// Loads the contacts of a CSV stream into a campaign in one transaction, chunk by chunk: COPY
// into a temporary staging table, then INSERT ... SELECT. A whole-file problem (ImportError) or
// a database error rolls everything back; per-row problems are counted and listed.

export const importContacts = async (db: Knex, input: Readable, options: ImportOptions): Promise<ImportResult> => {

    const settings = { ...defaults, ...options };

    return await db.transaction(async (trx) => {

        // The transaction's own client hands out the transaction's connection, not a pooled one

        const connection = await (trx.client as { acquireConnection: () => Promise<Pg.PoolClient> }).acquireConnection();

        await trx.raw(`CREATE TEMP TABLE lead_import (
            phone_number text NOT NULL, first_name text, last_name text, email text, country text, timezones text[] NOT NULL,
            custom_fields jsonb NOT NULL, priority integer NOT NULL, is_high_value boolean NOT NULL, tags text[] NOT NULL,
            consent_at timestamptz, consent_source text
        ) ON COMMIT DROP`);

        const tally: Tally = { valid: 0, failed: 0, imported: 0, errors: [], duplicates: [] };
        await stage(connection, readContacts(input, { ...settings, batchSize: Math.min(readSize, settings.batchSize) }), tally, settings);
        await trx.raw('DROP TABLE lead_import');

        const repeated = tally.valid - tally.imported;
        const errors = settings.skipDuplicates ? tally.errors : firstErrors([...tally.errors, ...tally.duplicates], settings.maxErrors);

        return {
            total_rows: tally.valid + tally.failed,
            imported: tally.imported,
            failed: tally.failed + (settings.skipDuplicates ? 0 : repeated),
            duplicates_skipped: settings.skipDuplicates ? repeated : 0,
            ...await withoutConsent(trx, settings.campaignId, settings.requireConsent),
            errors
        };
    });
};
