// Signed event webhooks, as Vonage sends them, processed per second with 50 concurrent senders
// over HTTP, against pgbench's TPC-B-like transactions per second on the same machine in the
// same run (50 clients too). Each call gets started, ringing, answered and completed, in order;
// completed ends it in one transaction (call, lead, job, campaign counters, minutes). Prints JSON;
// ratio is the median events per second over pgbench's median transactions per second, their
// rounds taking turns.
//
//     npx tsx bench/events.ts [calls per round] [pgbench seconds] [rounds]

import ChildProcess from 'child_process';
import Crypto from 'crypto';
import Fs from 'fs';
import Net from 'net';
import Os from 'os';
import Path from 'path';

import Pg from 'pg';

import { connectionString } from '../core/db';
import { signWebhook } from '../plugins/vonage/signature';
import { startServer } from '../test/lib/harness';
import { closedPort } from '../test/lib/proxy';
import { signUp } from '../test/lib/session';
import { placedCalls } from './lib/calls';


const calls = Number(process.argv[2] ?? 5000);
const pgbenchSeconds = Number(process.argv[3] ?? 10);
const rounds = Number(process.argv[4] ?? 3);
const senders = 50;
const secret = 'bench-signature-secret-0123456789';


interface Prepared {
    path: string;
    bodies: Array<{ body: string; token: string }>;
}


const pgbenchInit = (url: string) => ChildProcess.execFileSync('pgbench', ['-i', '-q', '-s', '10', url], { stdio: 'ignore' });


const pgbench = (url: string) => {

    const output = ChildProcess.execFileSync('pgbench', ['-c', String(senders), '-j', '2', '-T', String(pgbenchSeconds), url], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return Number(/tps = ([\d.]+)/.exec(output)![1]);
};


// Calls as the dialer leaves them (lead calling, job dialing, call placed), and their four
// events each, signed beforehand so that the senders cost little in the measured time

const prepareCalls = async (server: Awaited<ReturnType<typeof startServer>>['server'], owner: Awaited<ReturnType<typeof signUp>>, round: number, count = calls): Promise<{ campaignId: string; prepared: Prepared[] }> => {

    const { db } = server.plugins.core;
    // No voice socket: a ceiling that cannot be reached, or every answered call, abandoned, would count it
    const created = await server.inject({ method: 'POST', url: '/api/v1/campaigns', headers: owner.headers, payload: { name: `Bench ${round}`, max_retries: 0, calling_config: { max_abandonment_rate: 100 } } });
    const campaignId = (created.result as { id: string }).id;
    await db('campaigns').where({ id: campaignId }).update({ status: 'running' });
    await placedCalls(db, owner.tenantId, campaignId, count);

    const rows: Array<{ id: string; provider_call_id: string; to_number: string }> = await db('calls').where({ campaign_id: campaignId }).select('id', 'provider_call_id', 'to_number');
    const prepared = rows.map((call) => {

        const base = { uuid: call.provider_call_id, conversation_uuid: `CON-${call.id}`, from: '12025550100', to: call.to_number.slice(1), direction: 'outbound' };
        const start = new Date();
        const statuses = [
            { status: 'started' },
            { status: 'ringing' },
            { status: 'answered' },
            { status: 'completed', start_time: start.toISOString(), end_time: new Date(start.getTime() + 95_000).toISOString(), duration: '95', rate: '0.01400000', price: '0.02216667' }
        ];

        return {
            path: `/api/v1/webhooks/vonage/event?call_id=${call.id}&attempt=1`,
            bodies: statuses.map((extra) => {

                const body = JSON.stringify({ ...base, ...extra, timestamp: new Date().toISOString() });
                return { body, token: signWebhook(secret, body, { applicationId: Crypto.randomUUID() }) };
            })
        };
    });

    return { campaignId, prepared };
};


// The senders run in a process of their own, as a provider's would: the server's event loop
// serves only the webhooks

const sendAll = async (prepared: Prepared[], port: number) => {

    const file = Path.join(Os.tmpdir(), `talky-events-${process.pid}.json`);
    Fs.writeFileSync(file, JSON.stringify(prepared));
    try {
        return await new Promise<{ seconds: number; failures: number }>((resolve, reject) => {

            const child = ChildProcess.spawn(process.execPath, ['--require', 'tsx/cjs', __filename, '--send', file, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
            let output = '';
            child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
            child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(output)) : reject(new Error(`senders exited with ${code}`))));
        });
    }
    finally {
        Fs.rmSync(file);
    }
};


const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;


// The machine is noisy: rounds of the webhooks and of pgbench take turns, and medians are compared

const main = async () => {

    const port = await closedPort();
    const harness = await startServer({ port, publicUrl: `http://127.0.0.1:${port}`, role: 'api', logLevel: 'warn', vonageSignatureSecret: secret, databasePoolMax: 20 }, { listen: true });
    const { server, config } = harness;
    const { db } = server.plugins.core;

    const benchDb = connectionString(`${config.databaseUrl}_pgbench`);
    const benchDbName = Pg.escapeIdentifier(new URL(benchDb).pathname.slice(1));
    const admin = new Pg.Client({ connectionString: connectionString(config.databaseUrl) });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${benchDbName}`);
    try {
        pgbenchInit(benchDb);
        const owner = await signUp(server, { plan: 'enterprise' });
        await db('tenants').where({ id: owner.tenantId }).update({ minutes_remaining: 10_000_000 });

        // A first round warms the server (prepared statements, pool, JIT) and is not counted

        await sendAll((await prepareCalls(server, owner, 0, Math.min(calls, 1000))).prepared, port);

        const results = [];
        for (let i = 1; i <= rounds; ++i) {
            const { campaignId, prepared } = await prepareCalls(server, owner, i);
            const { seconds, failures } = await sendAll(prepared, port);
            const ended = Number((await db('calls').where({ campaign_id: campaignId, status: 'completed' }).count({ n: '*' }))[0]!.n);
            const campaign = await db('campaigns').where({ id: campaignId }).first('calls_completed', 'status');
            if (failures || ended !== calls || campaign.calls_completed !== calls || campaign.status !== 'completed') {
                throw new Error(`round ${i}: ${failures} failures, ${ended} calls ended, counter ${campaign.calls_completed}, campaign ${campaign.status}`);
            }

            const tps = pgbench(benchDb);
            results.push({ events_per_second: Math.round(calls * 4 / seconds), pgbench_tps: Math.round(tps) });
        }

        const eventsPerSecond = median(results.map((result) => result.events_per_second));
        const tps = median(results.map((result) => result.pgbench_tps));
        console.log(JSON.stringify({ calls_per_round: calls, events_per_round: calls * 4, senders, rounds: results, events_per_second: eventsPerSecond, pgbench_tps: tps, ratio: Number((eventsPerSecond / tps).toFixed(3)) }));
    }
    finally {
        await admin.query(`DROP DATABASE ${benchDbName} WITH (FORCE)`);
        await admin.end();
        await harness.cleanup();
    }
};


// The sending side: 50 connections, each taking the next call and sending its events in order.
// Requests are written out beforehand and answers read no further than their status and length,
// so the senders' own share of the two cores stays small (as a C client's like pgbench's would).

const connection = (port: number) => new Promise<Net.Socket>((resolve, reject) => {

    const socket = Net.connect(port, '127.0.0.1', () => resolve(socket));
    socket.setNoDelay(true);
    socket.once('error', reject);
});


const exchange = (socket: Net.Socket, request: Buffer) => new Promise<number>((resolve, reject) => {

    let received = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {

        received = Buffer.concat([received, chunk]);
        const end = received.indexOf('\r\n\r\n');
        if (end === -1) {
            return;
        }

        const head = received.subarray(0, end).toString('latin1');
        const length = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (received.length >= end + 4 + length) {
            socket.off('data', onData);
            socket.off('error', reject);
            resolve(Number(head.slice(9, 12)));
        }
    };

    socket.on('data', onData);
    socket.once('error', reject);
    socket.write(request);
});


const send = async (file: string, port: number) => {

    const prepared = JSON.parse(Fs.readFileSync(file, 'utf8')) as Prepared[];
    const requests = prepared.map((call) => call.bodies.map(({ body, token }) => Buffer.from(
        `POST ${call.path} HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\ncontent-type: application/json\r\nauthorization: Bearer ${token}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`)));

    const sockets = await Promise.all(Array.from({ length: senders }, () => connection(port)));
    let next = 0;
    let failures = 0;
    const sender = async (socket: Net.Socket) => {

        while (next < requests.length) {
            for (const request of requests[next++]!) {
                failures += await exchange(socket, request) >= 300 ? 1 : 0;
            }
        }
    };

    const started = process.hrtime.bigint();
    await Promise.all(sockets.map(sender));
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    sockets.forEach((socket) => socket.destroy());
    process.stdout.write(JSON.stringify({ seconds, failures }));
};


(process.argv[2] === '--send' ? send(process.argv[3]!, Number(process.argv[4])) : main()).catch((err) => {

    console.error(err);
    process.exit(1);
});
