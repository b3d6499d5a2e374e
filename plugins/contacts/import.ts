import type { Readable } from 'stream';
import { finished } from 'stream/promises';

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
}

export interface ImportResult {
    total_rows: number;
    imported: number;
    failed: number;
    duplicates_skipped: number;
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


const stagingColumns = 'file_row, phone_number, raw_phone, first_name, last_name, email, country, timezones, custom_fields, priority, is_high_value, tags';


// The time zones of a number are one shared array per prefix, so their literal is made once

const copyLine = (contact: Contact, zoneLiterals: Map<readonly string[], string>) => {

    let zones = zoneLiterals.get(contact.timezones);
    if (zones === undefined) {
        zones = copyText(arrayLiteral(contact.timezones));
        zoneLiterals.set(contact.timezones, zones);
    }

    return [
        contact.row,
        contact.phone_number,
        copyText(contact.raw_phone),
        copyNullable(contact.first_name),
        copyNullable(contact.last_name),
        copyNullable(contact.email),
        copyNullable(contact.country),
        zones,
        copyText(JSON.stringify(contact.custom_fields)),
        contact.priority,
        contact.is_high_value ? 't' : 'f',
        contact.tags.length ? copyText(arrayLiteral(contact.tags)) : '{}'
    ].join('\t');
};


// One chunk of the file: staged with COPY, then inserted. The first occurrence of a number in
// the chunk is inserted unless the campaign already has it, which covers the earlier chunks of
// this file too, since they are inserted in row order (the partial unique index ignores deleted
// leads). Every other staged row is a duplicate, listed only as far as the error list reaches.

const insertSql = `
    WITH firsts AS (
        SELECT DISTINCT ON (phone_number) * FROM lead_import ORDER BY phone_number, file_row
    ), inserted AS (
        INSERT INTO leads (tenant_id, campaign_id, phone_number, first_name, last_name, email, country, timezones, custom_fields, priority, is_high_value, tags, status)
        SELECT $1, $2, f.phone_number, f.first_name, f.last_name, f.email, f.country, f.timezones, f.custom_fields, f.priority, f.is_high_value, f.tags,
               CASE WHEN d.phone_number IS NULL THEN 'pending' ELSE 'dnc' END
        FROM firsts f
        LEFT JOIN dnc_numbers d ON d.tenant_id = $1 AND d.phone_number = f.phone_number
        ON CONFLICT DO NOTHING
        RETURNING phone_number
    )
    SELECT (SELECT count(*) FROM inserted)::integer AS imported,
           (SELECT coalesce(json_agg(json_build_array(l.file_row, l.raw_phone) ORDER BY l.file_row), '[]')
            FROM (SELECT s.file_row, s.raw_phone FROM lead_import s
                  WHERE NOT EXISTS (SELECT 1 FROM firsts f JOIN inserted i USING (phone_number) WHERE f.file_row = s.file_row)
                  ORDER BY s.file_row LIMIT $3) l) AS duplicates`;


interface Chunk {
    imported: number;
    duplicates: Array<[row: number, phone: string]>;
}


const loadChunk = async (connection: Pg.PoolClient, lines: string, params: unknown[]): Promise<Chunk> => {

    await connection.query('TRUNCATE lead_import');
    await finished(connection.query(copyFrom(`COPY lead_import (${stagingColumns}) FROM STDIN`)).end(lines));
    const { rows: [chunk] } = await connection.query<Chunk>(insertSql, params);
    return chunk!;
};


interface Tally {
    staged: number;
    failed: number;
    imported: number;
    errors: RowError[];
    duplicates: RowError[];
}


const firstErrors = (errors: RowError[], max: number) => errors.sort((a, b) => a.row - b.row).slice(0, max);


// How many parsed chunks may wait for PostgreSQL before parsing waits for them: enough to ride
// out the uneven time chunks take, few enough to keep memory flat

const chunksAhead = 2;


const stage = async (connection: Pg.PoolClient, batches: AsyncIterable<ContactBatch>, tally: Tally, settings: typeof defaults & ImportOptions) => {

    const params = [settings.tenantId, settings.campaignId, settings.skipDuplicates ? 0 : settings.maxErrors];
    const zoneLiterals = new Map<readonly string[], string>();
    const pending: Array<Promise<Chunk>> = [];

    const settle = ({ imported, duplicates }: Chunk) => {

        tally.imported += imported;
        const listed = duplicates.map(([row, phone]) => ({ row, error: 'Duplicate phone number', phone }));
        tally.duplicates = firstErrors([...tally.duplicates, ...listed], settings.maxErrors);
    };

    try {
        for await (const { contacts, errors } of batches) {
            tally.failed += errors.length;
            tally.errors.push(...errors.slice(0, settings.maxErrors - tally.errors.length));
            if (!contacts.length) {
                continue;
            }

            // Each chunk starts once the one before it is done, and runs while the next is parsed

            tally.staged += contacts.length;
            const lines = contacts.map((contact) => copyLine(contact, zoneLiterals)).join('\n') + '\n';
            const chunk = (pending.at(-1) ?? Promise.resolve()).then(() => loadChunk(connection, lines, params));
            chunk.catch(() => undefined);                               // awaited below, possibly after it failed
            pending.push(chunk);
            if (pending.length > chunksAhead) {
                settle(await pending.shift()!);
            }
        }

        while (pending.length) {
            settle(await pending.shift()!);
        }
    }
    finally {
        await Promise.allSettled(pending);                             // the transaction ends only once its connection is idle
    }
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
            file_row integer NOT NULL, phone_number text NOT NULL, raw_phone text NOT NULL,
            first_name text, last_name text, email text, country text, timezones text[] NOT NULL,
            custom_fields jsonb NOT NULL, priority integer NOT NULL, is_high_value boolean NOT NULL, tags text[] NOT NULL
        ) ON COMMIT DROP`);

        const tally: Tally = { staged: 0, failed: 0, imported: 0, errors: [], duplicates: [] };
        await stage(connection, readContacts(input, settings), tally, settings);
        await trx.raw('DROP TABLE lead_import');

        const repeated = tally.staged - tally.imported;
        const errors = settings.skipDuplicates ? tally.errors : firstErrors([...tally.errors, ...tally.duplicates], settings.maxErrors);

        return {
            total_rows: tally.staged + tally.failed,
            imported: tally.imported,
            failed: tally.failed + (settings.skipDuplicates ? 0 : repeated),
            duplicates_skipped: settings.skipDuplicates ? repeated : 0,
            errors
        };
    });
};
