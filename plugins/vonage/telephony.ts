import Crypto from 'crypto';
import { Readable } from 'stream';
import type { ReadableStream } from 'stream/web';

import { Vonage } from '@vonage/server-sdk';
import { MachineDetectionBehavior, type OutboundCall } from '@vonage/voice';

import { TelephonyError, type CallEvent, type PlaceCallRequest, type PlacedCall, type Telephony } from '../dialer/telephony';
import { ApplicationAuth } from './auth';
import { parseCallRecord } from './events';
import { webhookUrls } from './urls';


export interface VonageOptions {
    applicationId: string;
    privateKey: string;                          // PEM text
    apiHost: string;
    publicUrl: string;                           // where Vonage reaches this server's webhooks
    fromNumber?: string;
    timeoutMs?: number;
}


// Vonage writes numbers without the +

const digits = (number: string) => number.replace(/^\+/, '');


const retryAfterMs = (header: string | null) => {

    if (!header) {
        return undefined;
    }

    const seconds = Number(header);
    if (Number.isFinite(seconds)) {
        return Math.max(0, seconds * 1000);
    }

    const at = Date.parse(header);
    return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
};


// An RFC 7807 body says best what went wrong: its detail, title and the parameters it refused

const problemOf = async (response: Response) => {

    const text = await response.text().catch(() => '');
    try {
        const problem = JSON.parse(text) as { title?: string; detail?: string; invalid_parameters?: { name?: string; reason?: string }[] };
        const invalid = (problem.invalid_parameters ?? []).map((parameter) => `${parameter.name}: ${parameter.reason}`).join(', ');
        return [problem.detail ?? problem.title, invalid].filter(Boolean).join('; ') || response.statusText;
    }
    catch {
        return text.slice(0, 200) || response.statusText;
    }
};


const isResponse = (value: unknown): value is Response => typeof (value as Response | undefined)?.status === 'number' && typeof (value as Response).text === 'function';


// 429 and 5xx may pass later; another 4xx is the request's fault. No answer at all (network,
// timeout) is retryable too: the SDK never retries by itself.

export const telephonyError = async (err: unknown, doing: string) => {

    if (err instanceof TelephonyError) {
        return err;
    }

    const response = (err as { response?: unknown }).response;
    if (isResponse(response)) {
        const { status } = response;
        const retryable = status === 429 || status >= 500;
        return new TelephonyError(`Vonage refused to ${doing} (${status}): ${await problemOf(response)}`, retryable, status, retryable ? retryAfterMs(response.headers.get('retry-after')) : undefined);
    }

    const cause = (err as { cause?: { message?: string } }).cause?.message;
    return new TelephonyError(`Could not reach Vonage to ${doing}: ${(err as Error).message}${cause ? ` (${cause})` : ''}`, true);
};


// Recordings are fetched with the application's token: only ever send it to Vonage itself

const trustedRecordingHost = (url: URL, apiHost: URL) => url.origin === apiHost.origin || (url.protocol === 'https:' && /(^|\.)(nexmo|vonage)\.com$/.test(url.hostname));


export class VonageTelephony implements Telephony {

    private readonly vonage: Vonage;
    private readonly auth: ApplicationAuth;
    private readonly urls: ReturnType<typeof webhookUrls>;

    constructor(private readonly options: VonageOptions) {

        Crypto.createPrivateKey(options.privateKey);                 // a bad key fails here, not at the first call
        this.auth = new ApplicationAuth(options.applicationId, options.privateKey);
        this.vonage = new Vonage(this.auth, { apiHost: options.apiHost, timeout: options.timeoutMs ?? 10_000 });
        this.urls = webhookUrls(options.publicUrl);
    }

    async placeCall(request: PlaceCallRequest): Promise<PlacedCall> {

        const from = request.from ?? this.options.fromNumber;
        if (!from) {
            throw new TelephonyError('No caller id: set VONAGE_FROM_NUMBER or give the call a from number', false);
        }

        const call: OutboundCall = {
            to: [{ type: 'phone', number: digits(request.to) }],
            from: { type: 'phone', number: digits(from) },
            answerUrl: [this.urls.answer(request)],
            eventUrl: [this.urls.event(request)],
            ...(request.ringingTimeoutSeconds ? { ringingTimer: request.ringingTimeoutSeconds } : {}),
            ...(request.machineDetection ? { machineDetection: MachineDetectionBehavior.CONTINUE } : {})
        } as OutboundCall;

        try {
            const result = await this.vonage.voice.createOutboundCall(call);
            return { providerCallId: result.uuid, conversationId: result.conversationUUID };
        }
        catch (err) {
            throw await telephonyError(err, 'place the call');
        }
    }

    async hangup(providerCallId: string) {

        try {
            await this.vonage.voice.hangupCall(providerCallId);
        }
        catch (err) {
            throw await telephonyError(err, 'hang up');
        }
    }

    async transfer(providerCallId: string, to: string) {

        const ncco = [{ action: 'connect', ...(this.options.fromNumber ? { from: digits(this.options.fromNumber) } : {}), endpoint: [{ type: 'phone', number: digits(to) }] }];
        try {
            await this.vonage.voice.transferCallWithNCCO(providerCallId, ncco as Parameters<Vonage['voice']['transferCallWithNCCO']>[1]);
        }
        catch (err) {
            throw await telephonyError(err, 'transfer the call');
        }
    }

    async lookup(providerCallId: string): Promise<CallEvent | null> {

        try {
            const record = await this.vonage.voice.getCall(providerCallId);
            return parseCallRecord(record as unknown as Record<string, unknown>);
        }
        catch (err) {
            const error = await telephonyError(err, 'look the call up');
            if (error.status === 404) {
                return null;
            }

            throw error;
        }
    }

    async fetchRecording(url: string): Promise<Readable> {

        const target = new URL(url);
        if (!trustedRecordingHost(target, new URL(this.options.apiHost))) {
            throw new TelephonyError(`Refusing to fetch a recording from ${target.origin}: not a Vonage address`, false);
        }

        // The timeout covers the answer, not the download of the body

        const controller = new AbortController();
        const timer = setTimeout(() => controller.abort(), this.options.timeoutMs ?? 10_000);
        let response: Response;
        try {
            response = await fetch(target, { headers: { authorization: await this.auth.createBearerHeader() }, signal: controller.signal });
        }
        catch (err) {
            throw await telephonyError(err, 'fetch the recording');
        }
        finally {
            clearTimeout(timer);
        }

        if (!response.ok || !response.body) {
            throw await telephonyError({ response }, 'fetch the recording');
        }

        return Readable.fromWeb(response.body as ReadableStream);
    }
}
