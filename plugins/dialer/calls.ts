import type { Core } from '../../core/plugin';
import type { Storage, StoredObject } from '../storage/backend';
import type { DialContext } from './dial';
import { checkCeiling } from './abandonment';
import { applyEvent, isUuid, liveCall } from './events';
import { machineChannel, type AnswerRequest, type CallLifecycle, type CallOutcomes, type MachineNotice } from './lifecycle';
import { erasedNumber, liveCallStatuses } from './outcomes';
import type { CallEvent, RecordingEvent } from './telephony';


// The dialer's side of a provider's webhooks (see lifecycle.ts)



const findCall = (core: Core, ids: { callId?: string; providerCallId?: string; conversationId?: string }) => {

    const query = core.db('calls as c').join('campaigns as m', 'm.id', 'c.campaign_id');
    if (isUuid(ids.callId)) {
        return query.where('c.id', ids.callId);
    }

    if (ids.providerCallId) {
        return query.where('c.provider_call_id', ids.providerCallId);
    }

    return query.where('c.conversation_id', ids.conversationId ?? null);
};


// A recording's row: the provider's (by its id) or Talky's own (talky:<call id>), kept once

const saveRecording = async (core: Core, call: { id: string; tenantId: string }, recordingId: string, stored: StoredObject, times: { startedAt?: Date | null; endedAt?: Date | null }) => {

    await core.db('recordings').insert({
        tenant_id: call.tenantId,
        call_id: call.id,
        provider_recording_id: recordingId,
        storage_key: stored.key,
        size_bytes: stored.size,
        started_at: times.startedAt ?? null,
        ended_at: times.endedAt ?? null
    }).onConflict('provider_recording_id').ignore();
};


export const lifecycle = (context: DialContext, storage: () => Storage): CallLifecycle & CallOutcomes => {

    const { core } = context;

    return {
        async answer(request: AnswerRequest) {

            const call = await findCall(core, request).first('c.id', 'c.attempt', 'c.status', 'c.provider_call_id', 'm.calling_config');
            if (!call || !liveCallStatuses.includes(call.status) || (request.attempt !== undefined && request.attempt !== call.attempt)) {
                return null;
            }

            if (!call.provider_call_id) {
                await core.db('calls').where({ id: call.id }).whereNull('provider_call_id')
                    .update({ provider_call_id: request.providerCallId, conversation_id: request.conversationId ?? null, updated_at: core.clock.now() });
            }

            return { callId: call.id, record: call.calling_config.record === true };
        },

        async handleEvent(event: CallEvent) {

            const result = await applyEvent(core.db, event, core.clock.now());
            if (result.ended) {
                await context.slots.release(result.ended);
            }

            if (result.abandoned) {
                await checkCeiling(core, result.abandoned);
            }

            if (result.change) {
                core.live.publish(liveCall(result.change));
            }

            // A repeat too: the beep comes as a second machine event

            if (event.status === 'machine') {
                const notice: MachineNotice = { providerCallId: event.providerCallId, detail: event.detail };
                await core.redis.publish(machineChannel(core.config.redisPrefix), JSON.stringify(notice));
            }
        },

        async handleRecording(event: RecordingEvent) {

            const call = await findCall(core, event).first('c.id', 'c.tenant_id', 'c.to_number');
            if (!call) {
                core.logger.warn({ recording: event.recordingId }, 'recording of an unknown call ignored');
                return;
            }

            if (call.to_number === erasedNumber) {
                core.logger.info({ call: call.id }, 'recording of an erased call not fetched');
                return;
            }

            if (await core.db('recordings').where({ provider_recording_id: event.recordingId }).first('id')) {
                return;                                              // a repeated webhook
            }

            const key = `recordings/${call.tenant_id}/${call.id}/${event.recordingId.replace(/[^\w-]/g, '_')}.wav`;
            const stored = await storage().put(key, await context.telephony().fetchRecording(event.url), 'audio/wav');
            await saveRecording(core, { id: call.id, tenantId: call.tenant_id }, event.recordingId, stored, event);
        },

        async markGoalAchieved(callId: string) {

            await core.db('calls').where({ id: callId }).update({ goal_achieved: true, updated_at: core.clock.now() });
        },

        async scheduleCallback(callId: string, at: Date) {

            await core.db('calls').where({ id: callId }).update({ callback_at: at, updated_at: core.clock.now() });
        },

        async keepRecording(call: { id: string; tenantId: string }, stored: StoredObject) {

            const { to_number: number } = await core.db('calls').where({ id: call.id }).first('to_number');
            if (number === erasedNumber) {
                await storage().remove(stored.key);                 // the person was erased as the call closed
                return;
            }

            await saveRecording(core, call, `talky:${call.id}`, stored, { endedAt: core.clock.now() });
        }
    };
};
