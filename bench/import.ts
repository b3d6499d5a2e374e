import ChildProcess from 'child_process';
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
import { connectionString, createDb } from '../core/db';
import type { ImportResult } from '../plugins/contacts/import';
import { dropTestData, testConfig, waitFor } from '../test/lib/harness';
import { linkToken, messagesTo } from '../test/lib/mail';
import { closedPort } from '../test/lib/proxy';


// npx tsx bench/import.ts [rows]: a CSV upload over HTTP to a running server, against the raw
// baseline (fast-csv, libphonenumber-js and COPY into a table indexed like leads, without staging,
// dedupe or time zones) on one generated file, in one run. Also the import pipeline called in
// process, without HTTP. Prints one JSON object; ratio is the upload's rate over the raw one.

const rows = Number(process.argv[2] ?? 100_000);


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


// The upload as a browser sends it: multipart/form-data, streamed from disk with no length known

const upload = async (uri: string, file: string, headers: Record<string, string>) => {

    const boundary = `----talky-bench-${Crypto.randomBytes(8).toString('hex')}`;
    const body = async function* () {

        yield Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="contacts.csv"\r\nContent-Type: text/csv\r\n\r\n`);
        yield* Fs.createReadStream(file, { highWaterMark: 256 * 1024 });
        yield Buffer.from(`\r\n--${boundary}--\r\n`);
    };

    const res = await fetch(uri, {
        method: 'POST',
        headers: { ...headers, 'content-type': `multipart/form-data; boundary=${boundary}` },
        body: Readable.toWeb(Readable.from(body())) as ReadableStream,
        duplex: 'half'
    } as RequestInit);

    const result = await res.json() as ImportResult;
    if (res.status !== 200) {
        throw new Error(`upload answered ${res.status}: ${JSON.stringify(result)}`);
    }

    return result;
};


// The server runs as its own process, as it would in production; the kernel keeps its peak RSS

const peakRssMb = (pid: number) => Math.round(Number(/VmHWM:\s+(\d+) kB/.exec(Fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024);


const startTalky = async (env: Record<string, string>) => {

    // The built server, as `npm start` and the Docker image run it

    ChildProcess.execFileSync('npm', ['run', '--silent', 'build'], { cwd: Path.join(__dirname, '..'), stdio: 'inherit' });
    const child = ChildProcess.spawn(process.execPath, [Path.join(__dirname, '..', 'dist', 'bin', 'talky.js')], {
        env: { ...process.env, ...env },
        stdio: ['ignore', 'ignore', 'inherit']
    });

    const uri = `http://127.0.0.1:${env.PORT}`;
    await waitFor(async () => (await fetch(`${uri}/api/v1/health`).catch(() => null))?.status === 200, 60_000);
    return { child, uri };
};


const api = async (uri: string, path: string, payload: object, headers: Record<string, string> = {}) => {

    const res = await fetch(`${uri}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(payload) });
    return await res.json() as Record<string, any>;
};


const main = async () => {

    const folder = Fs.mkdtempSync(Path.join(Os.tmpdir(), 'talky-bench-'));
    const file = Path.join(folder, 'contacts.csv');
    const warmup = Path.join(folder, 'warmup.csv');
    await generate(warmup, 5000);
    await generate(file, rows);

    const config = testConfig();
    const url = connectionString(config.databaseUrl);
    const { child, uri } = await startTalky({
        PORT: String(await closedPort()),
        HOST: '127.0.0.1',
        DATABASE_URL: config.databaseUrl,
        REDIS_PREFIX: config.redisPrefix,
        JWT_SECRET: config.jwtSecret!,
        MAIL_DIR: config.mailDir,
        LOG_LEVEL: 'warn',
        IMPORT_MAX_ROWS: String(rows * 2),
        IMPORT_MAX_BYTES: String(4 * 1024 * 1024 * 1024)
    });

    const db = createDb(url, 2, Pino({ level: 'silent' }));
    try {
        await db.raw(`
            CREATE TABLE raw_leads (LIKE leads INCLUDING DEFAULTS, PRIMARY KEY (id));
            CREATE INDEX raw_leads_campaign_phone ON raw_leads (campaign_id, phone_number);
            CREATE INDEX raw_leads_campaign_status ON raw_leads (campaign_id, status);
        `);

        // Signed in the way a person is: register, open the mailed link

        const email = 'bench@example.com';
        const tenantId = (await api(uri, '/api/v1/auth/register', { email, business_name: 'Bench', plan_id: 'enterprise' })).id as string;
        const token = linkToken((await waitFor(() => messagesTo(config.mailDir, email)[0]))!);
        const headers = { authorization: `Bearer ${(await api(uri, '/api/v1/auth/verify', { token })).access_token}` };
        const campaign = async () => (await api(uri, '/api/v1/campaigns', { name: 'Bench' }, headers)).id as string;

        await rawLoad(url, warmup, tenantId, await campaign());
        await upload(`${uri}/api/v1/contacts/campaigns/${await campaign()}/upload`, warmup, headers);
        await db.raw('TRUNCATE leads, raw_leads CASCADE; CHECKPOINT');                 // the dialer's tables refer to leads

        const rawCampaign = await campaign();
        const { seconds: raw } = await timed(() => rawLoad(url, file, tenantId, rawCampaign));
        await db.raw('CHECKPOINT');

        const target = `${uri}/api/v1/contacts/campaigns/${await campaign()}/upload`;
        const { seconds: http, value: result } = await timed(() => upload(target, file, headers));

        const { errors, ...counts } = result;
        const rate = (time: number) => Math.round(rows / time);

        process.stdout.write(JSON.stringify({
            rows,
            file_mb: Number((Fs.statSync(file).size / 1024 / 1024).toFixed(1)),
            raw: { seconds: Number(raw.toFixed(3)), rows_per_second: rate(raw) },
            http_upload: { seconds: Number(http.toFixed(3)), rows_per_second: rate(http), server_peak_rss_mb: peakRssMb(child.pid!) },
            ratio: Number((raw / http).toFixed(3)),
            result: { ...counts, errors_listed: errors.length }
        }) + '\n');
    }
    finally {
        await db.destroy();
        child.kill('SIGTERM');
        await new Promise((resolve) => child.once('exit', resolve));
        await dropTestData(config);
        Fs.rmSync(folder, { recursive: true, force: true });
    }
};


main().catch((err) => {

    console.error(err);
    process.exit(1);
});
