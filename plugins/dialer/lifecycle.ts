import type { StoredObject } from '../storage/backend';
import type { CallEvent, RecordingEvent } from './telephony';


// What the dialer exposes (server.plugins.dialer) to the plugins that receive a provider's
// webhooks: they parse and verify the provider's wire format, and hand the dialer plain facts.

export interface AnswerRequest {
    callId?: string;
    attempt?: number;
    providerCallId: string;
    conversationId?: string;
}

export interface AnswerPlan {
    callId: string;
    record: boolean;                             // put a record action before the voice socket
}

export interface CallLifecycle {

    // The call being answered, or null when it is not one of ours (or no longer current)

    answer(request: AnswerRequest): Promise<AnswerPlan | null>;

    // One provider event: applied once, in one transaction, whatever the order or repetition

    handleEvent(event: CallEvent): Promise<void>;

    // A finished recording: fetched from the provider into the storage slot

    handleRecording(event: RecordingEvent): Promise<void>;
}


// What the voice agent on a call settles about it, for the dialer to keep: the goal reached, a
// call back the person asked for (the job is scheduled then when the call ends), Talky's own
// recording of the conversation

export interface CallOutcomes {
    markGoalAchieved(callId: string): Promise<void>;
    scheduleCallback(callId: string, at: Date): Promise<void>;
    keepRecording(call: { id: string; tenantId: string }, stored: StoredObject): Promise<void>;
}


// A machine answered (voicemail): the voice socket of the call, on whichever api instance holds
// it, hears of it through this channel, with the provider's detail (beep_start when the beep came)

export interface MachineNotice {
    providerCallId: string;
    detail?: string;
}

export const machineChannel = (redisPrefix: string) => `${redisPrefix}:calls:machine`;


declare module '@hapi/hapi' {
    interface PluginProperties {
        dialer: CallLifecycle & CallOutcomes & {
            worker?: { reconcile(): Promise<unknown> };    // where the role runs workers
        };
    }
}
