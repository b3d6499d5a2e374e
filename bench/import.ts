import Crypto from 'crypto';
import Fs from 'fs';
import Os from 'os';
import Path from 'path';
import { Readable } from 'stream';
import { pipeline } from 'stream/promises';

import { parse } from 'fast-csv';
import { parsePhoneNumberFromString } from 'libphonenumber-js';
import Pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import Pino from 'pino';

import { connectionString, createDb, dropDatabase, ensureDatabase } from '../core/db';
import { importContacts } from '../plugins/contacts/import';


// npx tsx bench/import.ts [rows]: the contact import against its raw baseline (fast-csv,
// libphonenumber-js and COPY into a table indexed like leads, without staging, dedupe or time
// zones) on one generated file, in one run. Prints one JSON object.

const rows = Number(process.argv[2] ?? 100_000);
const baseUrl = process.env.TEST_DATABASE_URL ?? 'postgres://127.0.0.1:5432/postgres';


const schema = `
    CREATE TABLE leads (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id uuid NOT NULL,
        campaign_id uuid NOT NULL,
        phone_number text NOT NULL,
        first_name text, last_name text, email text,
        country text, timezones text[] NOT NULL DEFAULT '{}',
        custom_fields jsonb NOT NULL DEFAULT '{}',
        priority integer NOT NULL DEFAULT 5,
        is_high_value boolean NOT NULL DEFAULT false,
        tags text[] NOT NULL DEFAULT '{}',
        status text NOT NULL DEFAULT 'pending',
        last_call_result text, last_called_at timestamptz,
        call_attempts integer NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE UNIQUE INDEX leads_campaign_phone_active ON leads (campaign_id, phone_number) WHERE status <> 'deleted';
    CREATE INDEX leads_campaign_status ON leads (campaign_id, status);
    CREATE TABLE dnc_numbers (
        tenant_id uuid NOT NULL, phone_number text NOT NULL, reason text, created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, phone_number)
    );
    CREATE TABLE raw_leads (LIKE leads INCLUDING DEFAULTS, PRIMARY KEY (id));
    CREATE INDEX raw_leads_campaign_phone ON raw_leads (campaign_id, phone_number);
    CREATE INDEX raw_leads_campaign_status ON raw_leads (campaign_id, status);
`;


// A fixed pseudo-random sequence, so every run reads the same file

const random = (() => {

    let state = 0x2545f491;
    return (below: number) => {

        state ^= state << 13;
        state ^= state >>> 17;
        state ^= state << 5;
        return (state >>> 0) % below;
    };
})();


const pad = (value: number, width: number) => String(value).padStart(width, '0');

const areaCodes = ['212', '415', '312', '305', '617', '206', '303', '702', '512', '404', '555', '555'];
const firstNames = ['James', 'Mary', 'José', 'Zoë', 'Chloé', 'Ahmed', 'Mei', 'Olga', 'Seán', 'Björn'];
const lastNames = ['Smith', 'Müller', '"O\'Brien, Jr"', 'García', 'Nguyen', '"Said ""Sam"" Ali"', 'Kowalski', 'Dubois'];
const invalid = ['12345', 'n/a', '', '555-12', 'call me', '+1 555 123 45678'];


const usNumber = () => [areaCodes[random(areaCodes.length)]!, pad(200 + random(800), 3), pad(random(10000), 4)] as const;


const formats = [
    ([a, e, l]: readonly string[]) => `(${a}) ${e}-${l}`,
    ([a, e, l]: readonly string[]) => `${a}.${e}.${l}`,
    ([a, e, l]: readonly string[]) => `+1 ${a} ${e} ${l}`,
    ([a, e, l]: readonly string[]) => `${a}-${e}-${l}`,
    ([a, e, l]: readonly string[]) => `1${a}${e}${l}`
];


const phoneFor = (index: number, previous: Array<readonly string[]>) => {

    const kind = random(100);
    if (kind < 2) {
        return invalid[random(invalid.length)]!;
    }

    if (kind < 6) {
        return `+44 20 ${pad(random(10000), 4)} ${pad(random(10000), 4)}`;
    }

    const number = kind < 9 && previous.length ? previous[random(previous.length)]! : usNumber();
    if (previous.length < 1000) {
        previous.push(number);
    }
    else if (index % 50 === 0) {
        previous[random(1000)] = number;
    }

    return formats[random(formats.length)]!(number);
};


const generate = async (file: string, count: number) => {

    const previous: Array<readonly string[]> = [];
    const lines = async function* () {

        yield 'First Name,Last Name,Phone Number,Email,Company\r\n';
        let chunk = '';
        for (let i = 0; i < count; ++i) {
            const first = firstNames[random(firstNames.length)]!;
            const last = lastNames[random(lastNames.length)]!;
            chunk += `${first},${last},${phoneFor(i, previous)},${first.toLowerCase()}.${i}@example.com,"Acme ${random(500)}, Inc."\r\n`;
            if (chunk.length > 65536) {
                yield chunk;
                chunk = '';
            }
        }

        yield chunk;
    };

    await pipeline(Readable.from(lines()), Fs.createWriteStream(file));
};


// The baseline: what a plain loader does, written the obvious way

const copyText = (value: string) => value.replace(/[\\\n\r\t]/g, (char) => ({ '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' })[char]!);


const rawLoad = async (url: string, file: string, tenantId: string, campaignId: string) => {

    const client = new Pg.Client({ connectionString: url });
    await client.connect();
    try {
        const lines = async function* () {

            let chunk: string[] = [];
            for await (const row of Fs.createReadStream(file).pipe(parse({ headers: true }))) {
                const phone = parsePhoneNumberFromString(row['Phone Number'] as string, 'US');
                if (!phone?.isPossible()) {
                    continue;
                }

                chunk.push([tenantId, campaignId, phone.number, copyText(row['First Name']), copyText(row['Last Name']), copyText(row.Email), copyText(JSON.stringify({ Company: row.Company }))].join('\t'));
                if (chunk.length === 5000) {
                    yield chunk.join('\n') + '\n';
                    chunk = [];
                }
            }

            if (chunk.length) {
                yield chunk.join('\n') + '\n';
            }
        };

        await pipeline(Readable.from(lines()), client.query(copyFrom('COPY raw_leads (tenant_id, campaign_id, phone_number, first_name, last_name, email, custom_fields) FROM STDIN')));
    }
    finally {
        await client.end();
    }
};


const timed = async <T>(run: () => Promise<T>) => {

    const start = process.hrtime.bigint();
    const value = await run();
    return { seconds: Number(process.hrtime.bigint() - start) / 1e9, value };
};


const main = async () => {

    const folder = Fs.mkdtempSync(Path.join(Os.tmpdir(), 'talky-bench-'));
    const file = Path.join(folder, 'contacts.csv');
    const warmup = Path.join(folder, 'warmup.csv');
    await generate(warmup, 5000);
    await generate(file, rows);

    const target = new URL(baseUrl);
    target.pathname = `/talky_bench_${process.pid}_${Crypto.randomBytes(4).toString('hex')}`;
    const url = connectionString(target.toString());
    await ensureDatabase(url);
    const db = createDb(url, 2, Pino({ level: 'silent' }));

    try {
        await db.raw(schema);
        const tenantId = Crypto.randomUUID();
        const options = { tenantId, maxRows: rows * 2, maxBytes: 4 * 1024 * 1024 * 1024 };

        await rawLoad(url, warmup, tenantId, Crypto.randomUUID());
        await importContacts(db, Fs.createReadStream(warmup), { ...options, campaignId: Crypto.randomUUID() });
        await db.raw('TRUNCATE leads, raw_leads; CHECKPOINT');

        const { seconds: raw } = await timed(() => rawLoad(url, file, tenantId, Crypto.randomUUID()));
        await db.raw('CHECKPOINT');

        let peak = process.memoryUsage().rss;
        const sampler = setInterval(() => {

            peak = Math.max(peak, process.memoryUsage().rss);
        }, 10);

        const { seconds, value: result } = await timed(() => importContacts(db, Fs.createReadStream(file), { ...options, campaignId: Crypto.randomUUID() }));
        clearInterval(sampler);
        const { errors, ...counts } = result;
        const rate = (time: number) => Math.round(rows / time);

        process.stdout.write(JSON.stringify({
            rows,
            raw: { seconds: Number(raw.toFixed(3)), rows_per_second: rate(raw) },
            pipeline: { seconds: Number(seconds.toFixed(3)), rows_per_second: rate(seconds), peak_rss_mb: Math.round(peak / 1024 / 1024) },
            ratio: Number((raw / seconds).toFixed(3)),
            result: { ...counts, errors_listed: errors.length }
        }) + '\n');
    }
    finally {
        await db.destroy();
        await dropDatabase(url);
        Fs.rmSync(folder, { recursive: true, force: true });
    }
};


main().catch((err) => {

    console.error(err);
    process.exit(1);
});
