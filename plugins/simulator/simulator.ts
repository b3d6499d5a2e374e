import Crypto from 'crypto';
import Http from 'http';
import type { AddressInfo } from 'net';

import Jwt from '@hapi/jwt';
import Joi from 'joi';

import { queryBody, signWebhook } from '../vonage/signature';
import { between, callRandom, parseOutcomes, pick, type Outcome, type Random } from './random';
import { converse, parsePersona } from './persona';
import { VoiceLeg, type VoiceStats } from './voice';
import { silentWav } from './wav';


// A local Vonage Voice API: POST /v1/calls with the application's RS256 token, 3 calls per second,
// then each call lives on its own timers (scaled by timeScale): signed event webhooks in Vonage's
// order, the answer URL fetched and its NCCO obeyed (voice socket, talk, record), recordings
// served back under /v1/files. See shared notes/vonage.md for what it imitates.

export interface SimulatorOptions {
    seed?: number;
    timeScale?: number;                          // 1 real time, 0.001 a thousand times faster
    outcomes?: string;                           // answered:0.6,busy:0.1,...
    voice?: boolean;                             // open the voice socket of answered calls
    persona?: string;                            // what the person says on it (see persona.ts); silence without
    signatureSecret?: string;                    // signs webhooks when set
    applicationId?: string;
    callsPerSecond?: number;                     // default 3 per (scaled) second
    swapRate?: number;                           // calls whose started and ringing come swapped
    duplicateRate?: number;                      // events sent twice
    webhookTimeoutMs?: number;
    logger?: { warn(details: object, message: string): void };
}

export interface SimulatedCall {
    readonly index: number;
    readonly uuid: string;
    readonly conversationUuid: string;
    readonly to: string;
    readonly from: string;
    readonly outcome: Outcome;
    readonly request: Record<string, any>;
    readonly createdAt: Date;
    status: string;
    answeredAt?: Date;
    endedAt?: Date;
    duration: number;                            // seconds of talk, on the simulated clock
    sent: string[];                              // statuses sent, in order, repeats included
    voice?: VoiceStats;
    transferredTo?: unknown;
    recordingId?: string;
}

interface LiveCall extends SimulatedCall {
    random: Random;
    hangup: AbortController;
    leg?: VoiceLeg;
    record?: { eventUrl: string; channels: number };
}

export interface SimulatorStats {
    placed: number;                              // calls accepted (201)
    live: number;                                // placed and not yet ended
    maxLive: number;
    throttled: number;                           // 429 answers
    webhooksSent: number;
    deliveryFailures: number;                    // webhooks given up after retries
}


const rate = 0.014;                              // per minute, as Vonage quotes it
const retryStatuses = new Set([429, 503, 504]);


const phone = Joi.object({
    type: Joi.string().valid('phone').required(),
    number: Joi.string().pattern(/^\+?[1-9]\d{6,14}$/).required()
}).unknown();

const url = Joi.string().uri({ scheme: ['http', 'https'] });

const callSchema = Joi.object({
    to: Joi.array().items(phone).length(1).required(),
    from: phone.required(),
    answer_url: Joi.array().items(url).min(1),
    answer_method: Joi.string().valid('GET', 'POST').default('GET'),
    ncco: Joi.array().items(Joi.object({ action: Joi.string().required() }).unknown()),
    event_url: Joi.array().items(url).min(1).required(),
    machine_detection: Joi.string().valid('continue', 'hangup'),
    ringing_timer: Joi.number().integer().min(1).max(120).default(60),
    length_timer: Joi.number().integer().min(1).max(7200)
}).xor('answer_url', 'ncco').unknown().prefs({ abortEarly: false, errors: { wrap: { label: false } } });

const updateSchema = Joi.object({
    action: Joi.string().valid('hangup', 'mute', 'unmute', 'earmuff', 'unearmuff', 'transfer').required(),
    destination: Joi.object().when('action', { is: 'transfer', then: Joi.required() })
}).unknown();


class Problem extends Error {

    constructor(readonly status: number, readonly title: string, detail: string, readonly extra: object = {}, readonly headers: Record<string, string> = {}) {

        super(detail);
    }
}


const readBody = (req: Http.IncomingMessage) => new Promise<Buffer>((resolve, reject) => {

    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {

        size += chunk.length;
        if (size > 1024 * 1024) {
            reject(new Problem(413, 'Payload Too Large', 'The request body is too large'));
            req.destroy();
            return;
        }

        chunks.push(chunk);
    });

    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
});


const digits = (number: string) => number.replace(/^\+/, '');


export class VonageSimulator {

    readonly applicationId: string;
    readonly privateKey: string;
    readonly publicKey: string;
    readonly stats: SimulatorStats = { placed: 0, live: 0, maxLive: 0, throttled: 0, webhooksSent: 0, deliveryFailures: 0 };
    readonly calls = new Map<string, SimulatedCall>();

    private readonly seed: number;
    private readonly timeScale: number;
    private readonly weights: [Outcome, number][];
    private readonly callsPerSecond: number;
    private readonly files = new Map<string, Buffer>();
    private readonly running = new Set<Promise<void>>();
    private readonly ended = new WeakSet<LiveCall>();
    private readonly stopping = new AbortController();
    private readonly server = Http.createServer((req, res) => this.handle(req, res));
    private started: Promise<string> | null = null;
    private trusted = '';                        // the token last verified: Talky reuses one for a minute
    private tokens: number;
    private refilledAt = Date.now();

    constructor(private readonly options: SimulatorOptions = {}) {

        const keys = Crypto.generateKeyPairSync('rsa', {
            modulusLength: 2048,
            publicKeyEncoding: { type: 'spki', format: 'pem' },
            privateKeyEncoding: { type: 'pkcs8', format: 'pem' }
        });

        this.privateKey = keys.privateKey;
        this.publicKey = keys.publicKey;
        this.applicationId = options.applicationId ?? Crypto.randomUUID();
        this.seed = options.seed ?? 1;
        this.timeScale = options.timeScale ?? 1;
        this.weights = parseOutcomes(options.outcomes ?? 'answered:0.6,busy:0.1,no_answer:0.2,voicemail:0.05,failed:0.03,rejected:0.02');
        this.callsPerSecond = options.callsPerSecond ?? 3 / this.timeScale;
        this.tokens = Math.max(1, this.callsPerSecond);
    }

    // Listens on loopback, on a port of its own; returns the base URL (the SDK's apiHost)

    start() {

        this.started ??= new Promise<string>((resolve, reject) => {

            this.server.once('error', reject);
            this.server.listen(0, '127.0.0.1', () => resolve(this.url));
        });

        return this.started;
    }

    get listening() {

        return this.server.listening;
    }

    get url() {

        return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    }

    // Ends every call without another webhook, and closes the listener

    async stop() {

        this.stopping.abort();
        for (const call of this.calls.values()) {
            (call as LiveCall).hangup?.abort();
            (call as LiveCall).leg?.close();
        }

        await Promise.allSettled(this.running);
        if (this.server.listening) {
            this.server.closeAllConnections();
            await new Promise((resolve) => this.server.close(resolve));
        }
    }

    // Resolves once no call is live: for tests and benchmarks

    async drained() {

        while (this.running.size) {
            await Promise.allSettled(this.running);
        }
    }

    private async handle(req: Http.IncomingMessage, res: Http.ServerResponse) {

        try {
            const { status, body, headers } = await this.route(req);
            res.writeHead(status, { ...(body === undefined ? {} : { 'content-type': body instanceof Buffer ? 'audio/wav' : 'application/json' }), ...headers });
            res.end(body === undefined ? undefined : body instanceof Buffer ? body : JSON.stringify(body));
        }
        catch (err) {
            const problem = err instanceof Problem ? err : new Problem(500, 'Internal Server Error', (err as Error).message);
            res.writeHead(problem.status, { 'content-type': 'application/problem+json', ...problem.headers });
            res.end(JSON.stringify({
                type: `https://developer.vonage.com/api-errors#${problem.title.toLowerCase().replace(/\s+/g, '-')}`,
                title: problem.title,
                detail: problem.message,
                instance: Crypto.randomUUID(),
                ...problem.extra
            }));
        }
    }

    private async route(req: Http.IncomingMessage): Promise<{ status: number; body?: object | Buffer; headers?: Record<string, string> }> {

        const path = new URL(req.url ?? '/', 'http://simulator').pathname.split('/').slice(1);
        const [version, resource, id, ...rest] = path;
        if (version !== 'v1' || rest.length || !['calls', 'files'].includes(resource ?? '')) {
            throw new Problem(404, 'Not Found', `No resource at ${req.url}`);
        }

        this.authenticate(req);

        if (resource === 'files' && id && req.method === 'GET') {
            const file = this.files.get(id);
            if (!file) {
                throw new Problem(404, 'Not Found', `No file ${id}`);
            }

            return { status: 200, body: file };
        }

        if (resource === 'calls' && !id && req.method === 'POST') {
            return { status: 201, body: this.create(await this.json(req)) };
        }

        if (resource === 'calls' && id && (req.method === 'GET' || req.method === 'PUT')) {
            const call = this.calls.get(id) as LiveCall | undefined;
            if (!call) {
                throw new Problem(404, 'Not Found', `Call ${id} was not found`);
            }

            if (req.method === 'GET') {
                return { status: 200, body: this.record(call) };
            }

            this.update(call, await this.json(req));
            return { status: 204 };
        }

        throw new Problem(405, 'Method Not Allowed', `${req.method} is not allowed on ${req.url}`);
    }

    // The SDK's token: RS256 by the application's key, not expired, naming this application

    private authenticate(req: Http.IncomingMessage) {

        const token = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1] ?? '';
        try {
            const artifacts = Jwt.token.decode(token);
            if (token !== this.trusted) {
                Jwt.token.verifySignature(artifacts, { key: this.publicKey, algorithm: 'RS256' });
            }

            Jwt.token.verifyTime(artifacts);
            if ((artifacts.decoded.payload as { application_id?: string }).application_id !== this.applicationId) {
                throw new Error('Another application');
            }

            this.trusted = token;
        }
        catch {
            throw new Problem(401, 'Unauthorized', 'You did not provide correct credentials.');
        }
    }

    private async json(req: Http.IncomingMessage) {

        try {
            return JSON.parse((await readBody(req)).toString('utf8')) as unknown;
        }
        catch (err) {
            throw err instanceof Problem ? err : new Problem(400, 'Bad Request', 'The request body is not valid JSON');
        }
    }

    // A token bucket of callsPerSecond, holding at most a second's worth: nothing is queued

    private throttle() {

        const now = Date.now();
        this.tokens = Math.min(Math.max(1, this.callsPerSecond), this.tokens + (now - this.refilledAt) / 1000 * this.callsPerSecond);
        this.refilledAt = now;
        if (this.tokens < 1) {
            ++this.stats.throttled;
            const wait = Math.max(1, Math.ceil((1 - this.tokens) / this.callsPerSecond));
            throw new Problem(429, 'Too Many Requests', `You can place at most ${this.callsPerSecond} calls per second`, {}, { 'retry-after': String(wait) });
        }

        --this.tokens;
    }

    private create(payload: unknown) {

        const { value, error } = callSchema.validate(payload);
        if (error) {
            const invalid = error.details.map((detail) => ({ name: detail.path.join('.') || String(detail.context?.label ?? 'body'), reason: detail.message }));
            throw new Problem(400, 'Bad Request', 'The request failed due to validation errors', { invalid_parameters: invalid });
        }

        this.throttle();

        const index = this.stats.placed++;
        const random = callRandom(this.seed, index);
        const call: LiveCall = {
            index,
            uuid: Crypto.randomUUID(),
            conversationUuid: `CON-${Crypto.randomUUID()}`,
            to: digits(value.to[0].number),
            from: digits(value.from.number),
            outcome: pick(this.weights, random),
            request: value,
            createdAt: new Date(),
            status: 'started',
            duration: 0,
            sent: [],
            random,
            hangup: new AbortController()
        };

        this.calls.set(call.uuid, call);
        this.stats.maxLive = Math.max(this.stats.maxLive, ++this.stats.live);

        const running: Promise<void> = this.drive(call)
            .catch((err) => this.options.logger?.warn({ err, uuid: call.uuid }, 'simulated call failed'))
            .finally(() => {

                this.hungUp(call);
                this.running.delete(running);
            });

        this.running.add(running);
        return { uuid: call.uuid, status: 'started', direction: 'outbound', conversation_uuid: call.conversationUuid };
    }

    private update(call: LiveCall, payload: unknown) {

        const { value, error } = updateSchema.validate(payload);
        if (error) {
            throw new Problem(400, 'Bad Request', error.message);
        }

        if (value.action === 'hangup') {
            call.hangup.abort();
            call.leg?.close();
        }

        if (value.action === 'transfer' && !call.endedAt) {
            call.transferredTo = value.destination;
            call.leg?.close();
            void this.emit(call, 'transfer', { destination: value.destination });
        }
    }

    private record(call: LiveCall) {

        return {
            _links: { self: { href: `/v1/calls/${call.uuid}` } },
            uuid: call.uuid,
            conversation_uuid: call.conversationUuid,
            to: { type: 'phone', number: call.to },
            from: { type: 'phone', number: call.from },
            status: call.status,
            direction: 'outbound',
            rate: rate.toFixed(8),
            price: this.price(call),
            duration: String(call.duration),
            start_time: (call.answeredAt ?? call.createdAt).toISOString(),
            end_time: call.endedAt?.toISOString() ?? null,
            network: '23410'
        };
    }

    private price(call: SimulatedCall) {

        return (call.duration / 60 * rate).toFixed(8);
    }

    // One call's life, in Vonage's order for its outcome

    private async drive(call: LiveCall) {

        const { random } = call;
        const early = random() < (this.options.swapRate ?? 0.1) ? ['ringing', 'started'] : ['started', 'ringing'];
        const ringFor = call.outcome === 'no_answer' ? call.request.ringing_timer : call.outcome === 'busy' ? between(random, 1, 5) : between(random, 3, 20);
        const talkFor = between(random, 20, 120);

        if (call.outcome === 'rejected') {
            await this.emit(call, 'rejected', { detail: 'declined' });
            return;
        }

        if (call.outcome === 'failed') {
            await this.emit(call, 'started');
            await this.wait(call, between(random, 0.5, 2));
            await this.emit(call, 'failed', { detail: 'cannot_route' });
            return this.complete(call);
        }

        for (const status of early) {
            await this.emit(call, status);
        }

        const rang = await this.wait(call, Math.min(ringFor, call.request.ringing_timer));
        if (!rang) {
            await this.emit(call, 'cancelled');
        }
        else if (call.outcome === 'busy') {
            await this.emit(call, 'busy');
        }
        else if (call.outcome === 'no_answer' || ringFor > call.request.ringing_timer) {
            await this.emit(call, 'timeout');
        }
        else {
            await this.answer(call, talkFor);
        }

        await this.complete(call);
    }

    private async answer(call: LiveCall, talkFor: number) {

        call.answeredAt = new Date();
        await this.emit(call, 'answered');

        const machine = call.outcome === 'voicemail' && call.request.machine_detection ? this.detectMachine(call) : null;
        const ncco = call.request.ncco ?? await this.fetchNcco(call);
        if (machine && call.request.machine_detection === 'hangup') {
            await machine;
            return;
        }

        await this.obey(call, ncco ?? [], Date.now() + talkFor * 1000 * this.timeScale);
        await machine;
    }

    private async detectMachine(call: LiveCall) {

        if (await this.wait(call, between(call.random, 1, 4))) {
            await this.emit(call, 'machine');
        }
    }

    // The NCCO, action by action, until the callee hangs up at hangupAt

    private async obey(call: LiveCall, ncco: Record<string, any>[], hangupAt: number) {

        const remaining = () => Math.max(0, (hangupAt - Date.now()) / 1000 / this.timeScale);

        for (const action of ncco) {
            if (call.hangup.signal.aborted || !remaining()) {
                return;
            }

            if (action.action === 'record') {
                call.record = { eventUrl: action.eventUrl?.[0], channels: action.channels ?? 1 };
            }
            else if (action.action === 'talk') {
                await this.wait(call, Math.min(remaining(), 1 + String(action.text ?? '').split(/\s+/).length * 0.4));
            }
            else if (action.action === 'connect') {
                const endpoint = action.endpoint?.[0] ?? {};
                if (endpoint.type !== 'websocket' || !this.options.voice) {
                    await this.wait(call, remaining());
                    return;
                }

                call.leg = new VoiceLeg({ uri: endpoint.uri, contentType: endpoint['content-type'], headers: endpoint.headers }, this.timeScale);
                call.voice = call.leg.stats;
                if (this.options.persona) {
                    converse(call.leg, parsePersona(this.options.persona), Number(/rate=(\d+)/.exec(endpoint['content-type'] ?? '')?.[1] ?? 16000), this.options.logger);
                }

                const talked = this.wait(call, remaining()).then(() => ({ byAgent: false }));
                const { byAgent } = await Promise.race([call.leg.closed, talked]);
                call.leg.close();
                if (!byAgent) {
                    return;
                }

                await this.emit(call, 'disconnected');
            }
        }
    }

    private async complete(call: LiveCall) {

        const endedAt = new Date();
        call.duration = call.answeredAt ? Math.max(1, Math.round((endedAt.getTime() - call.answeredAt.getTime()) / 1000 / this.timeScale)) : 0;
        call.endedAt = endedAt;
        await this.emit(call, 'completed', {
            start_time: (call.answeredAt ?? call.createdAt).toISOString(),
            end_time: endedAt.toISOString(),
            duration: String(call.duration),
            rate: rate.toFixed(8),
            price: this.price(call),
            network: '23410'
        });

        if (call.record?.eventUrl) {
            const id = Crypto.randomUUID();
            const file = silentWav(0.5, call.record.channels);
            this.files.set(id, file);
            call.recordingId = id;
            await this.deliver(call.record.eventUrl, 'POST', {
                start_time: (call.answeredAt ?? call.createdAt).toISOString(),
                recording_url: `${this.url}/v1/files/${id}`,
                size: file.length,
                recording_uuid: id,
                end_time: endedAt.toISOString(),
                conversation_uuid: call.conversationUuid,
                timestamp: new Date().toISOString()
            });
        }
    }

    // Resolves true after the (scaled) seconds, false at once when the call is hung up

    private wait(call: LiveCall, seconds: number) {

        const { signal } = call.hangup;
        return new Promise<boolean>((resolve) => {

            if (signal.aborted) {
                return resolve(false);
            }

            const onAbort = () => {

                clearTimeout(timer);
                resolve(false);
            };

            const timer = setTimeout(() => {

                signal.removeEventListener('abort', onAbort);
                resolve(true);
            }, seconds * 1000 * this.timeScale);

            signal.addEventListener('abort', onAbort, { once: true });
        });
    }

    // The line is free once a final status is sent (busy comes before completed): live counts
    // calls as the called party would, which is what Talky's concurrency limits are about

    private hungUp(call: LiveCall) {

        if (!this.ended.has(call)) {
            this.ended.add(call);
            --this.stats.live;
        }

        call.endedAt ??= new Date();
    }

    private async emit(call: LiveCall, status: string, extra: object = {}) {

        // machine and human name the call in call_uuid, not uuid

        const id = status === 'machine' || status === 'human' ? { call_uuid: call.uuid } : { uuid: call.uuid };
        const body = { from: call.from, to: call.to, ...id, conversation_uuid: call.conversationUuid, status, direction: 'outbound', timestamp: new Date().toISOString(), ...extra };
        if (!['transfer', 'disconnected', 'machine'].includes(status)) {
            call.status = status;
        }

        if (['completed', 'busy', 'timeout', 'unanswered', 'failed', 'rejected', 'cancelled'].includes(status)) {
            this.hungUp(call);
        }

        const times = call.random() < (this.options.duplicateRate ?? 0.02) ? 2 : 1;
        for (let i = 0; i < times; ++i) {
            call.sent.push(status);
            await this.deliver(call.request.event_url[0], 'POST', body);
        }
    }

    private async fetchNcco(call: LiveCall) {

        const fields = { to: call.to, from: call.from, uuid: call.uuid, conversation_uuid: call.conversationUuid };
        const target = new URL(call.request.answer_url[0]);
        if (call.request.answer_method === 'GET') {
            for (const [key, value] of Object.entries(fields)) {
                target.searchParams.set(key, value);
            }
        }

        const response = await this.deliver(target.toString(), call.request.answer_method, fields, 'answer');
        const ncco = await response?.json().catch(() => null);
        return Array.isArray(ncco) ? ncco as Record<string, any>[] : null;
    }

    // A signed webhook, retried a few times on a network error or timeout, and on any non-2xx
    // answer for events (only 429, 503 and 504 for the answer URL); null when it never got through

    private async deliver(target: string, method: 'GET' | 'POST', body: object, kind: 'answer' | 'event' = 'event'): Promise<Response | null> {

        const bytes = method === 'GET' ? queryBody(new URL(target).searchParams) : JSON.stringify(body);

        for (let i = 0; i < 4 && !this.stopping.signal.aborted; ++i) {
            if (i) {
                await new Promise((resolve) => setTimeout(resolve, Math.max(5, 1000 * this.timeScale * 2 ** (i - 1))));
            }

            try {
                const secret = this.options.signatureSecret;
                const response = await fetch(target, {
                    method,
                    headers: {
                        ...(method === 'POST' ? { 'content-type': 'application/json' } : {}),
                        ...(secret ? { authorization: `Bearer ${signWebhook(secret, bytes, { applicationId: this.applicationId })}` } : {})
                    },
                    body: method === 'POST' ? bytes : undefined,
                    signal: AbortSignal.any([this.stopping.signal, AbortSignal.timeout(this.options.webhookTimeoutMs ?? 5000)])
                });

                if (response.ok) {
                    this.stats.webhooksSent += 1;
                    return response;
                }

                await response.arrayBuffer().catch(() => null);
                if (kind === 'answer' && !retryStatuses.has(response.status)) {
                    break;
                }
            }
            catch { }
        }

        if (!this.stopping.signal.aborted) {
            ++this.stats.deliveryFailures;
            this.options.logger?.warn({ url: target }, 'simulator gave up on a webhook');
        }

        return null;
    }
}
