import type { Readable } from 'stream';


// The telephony slot: what the dialer asks of a provider, and what a provider reports back.
// Provider plugins (vonage, simulator, or a third party's) register an implementation with
// providers.register('telephony', name, factory); TELEPHONY_PROVIDER picks one.


// A call to place. callId is Talky's calls.id and attempt its fencing token: the provider puts
// both on the answer and event URLs it is given, so every webhook names the attempt it is about,
// even one that arrives before placeCall has returned the provider's id.

export interface PlaceCallRequest {
    callId: string;
    attempt: number;
    to: string;                                  // E.164, with the +
    from?: string;                               // E.164; the provider's configured number when absent
    ringingTimeoutSeconds?: number;              // how long to ring before giving up (Vonage: 1-120, default 60)
    machineDetection?: boolean;
}

export interface PlacedCall {
    providerCallId: string;
    conversationId?: string;
}


// A refusal by the provider. retryable: the same call may be placed again later (rate limit,
// provider outage); otherwise the number or the request is at fault.

export class TelephonyError extends Error {

    constructor(message: string, public readonly retryable: boolean, public readonly status?: number, public readonly retryAfterMs?: number) {

        super(message);
        this.name = 'TelephonyError';
    }
}


// A status report about a call, in the vocabulary of Vonage's event webhook, which other
// providers map their own statuses onto:
//   started, ringing, answered, machine, human, completed, busy, timeout, unanswered, failed,
//   rejected, cancelled, disconnected

export const callStatuses = ['started', 'ringing', 'answered', 'machine', 'human', 'completed', 'busy', 'timeout', 'unanswered', 'failed', 'rejected', 'cancelled', 'disconnected'] as const;

export type CallStatus = typeof callStatuses[number];

export interface CallEvent {
    callId?: string;                             // from the webhook's query (see PlaceCallRequest)
    attempt?: number;
    providerCallId: string;
    conversationId?: string;
    status: CallStatus;
    detail?: string;                             // e.g. unanswered: timeout, rejected: declined, machine: beep_start
    timestamp: Date;
    startedAt?: Date;                            // completed carries the talk's start and end
    endedAt?: Date;
    durationSeconds?: number;
    price?: number;
    raw: Record<string, unknown>;                // kept for audit
}

export interface RecordingEvent {
    callId?: string;
    providerCallId?: string;
    conversationId?: string;
    recordingId: string;
    url: string;
    startedAt?: Date;
    endedAt?: Date;
    size?: number;
    raw: Record<string, unknown>;
}


export interface Telephony {

    // Asks the provider to dial. Throws TelephonyError when it refuses.

    placeCall(request: PlaceCallRequest): Promise<PlacedCall>;

    hangup(providerCallId: string): Promise<void>;

    // Hands a live call to another number (a human agent)

    transfer(providerCallId: string, to: string): Promise<void>;

    // What the provider's status is now, for the reconciler; null when the provider does not know the call

    lookup?(providerCallId: string): Promise<CallEvent | null>;

    // Reads a recording the provider holds

    fetchRecording(url: string): Promise<Readable>;
}


declare module '../../core/providers' {
    interface ProviderSlots {
        telephony: Telephony;
    }
}
