import type Http from 'http';
import Path from 'path';

import Boom from '@hapi/boom';
import type { WebSocket } from 'ws';

import type { Core, TalkyPlugin } from '../../core/plugin';
import { abandonedAfterMs, firstAudio } from '../dialer/abandonment';
import { machineChannel, type CallOutcomes, type MachineNotice } from '../dialer/lifecycle';
import { honourOptOut } from '../dialer/optout';
import { Agent, type Latency, type TurnSettings } from './agent';
import { bytesPerFrame } from './audio';
import { Histogram, Pacer } from './pacer';
import { agentCall } from './prompt';
import { CallRecorder } from './recorder';
import * as Service from './service';
import { AudioSocket } from './socket';
import { verifyVoiceToken } from './token';
import type { CallActions } from './tools';


// The voice pipeline: the socket Vonage opens for each answered call, and the agent that talks
// on it. Sockets are served where the API is; the engines come from the stt, llm and tts slots.

export interface VoiceMetrics {
    activeCalls: number;
    response: Histogram;                         // the caller's end of speech -> our first audio frame
    overhead: Histogram;                         // our own share of it
    bargeIn: Histogram;                          // barge-in decided -> clear sent
    lateness: Histogram;                         // outgoing frames against their 20 ms schedule
}

// Whoever wants each reply's latency as it is measured (the metrics plugin) adds a listener

export type LatencyListener = (latency: Latency) => void;

declare module '@hapi/hapi' {
    interface PluginProperties {
        voice: { metrics: VoiceMetrics; onLatency: Set<LatencyListener> };
    }
}


export const plugin: TalkyPlugin = {
    name: 'voice',
    dependencies: ['core', 'contacts', 'dialer'],
    migrations: Path.join(__dirname, 'migrations'),
    register(server) {

        const core = server.plugins.core;
        const pacer = new Pacer();
        const metrics: VoiceMetrics = { activeCalls: 0, response: new Histogram(), overhead: new Histogram(), bargeIn: new Histogram(), lateness: pacer.lateness };
        const onLatency = new Set<LatencyListener>();
        server.expose('metrics', metrics);
        server.expose('onLatency', onLatency);

        if (!core.servesApi) {
            return;
        }

        core.providers.require('storage');
        core.providers.require('stt');
        core.providers.require('llm');
        core.providers.require('tts');

        const agents = new Map<string, Agent>();                 // by provider call id, the calls this process talks on
        core.sockets.route<Attached>('/api/v1/ws/voice/{call_uuid}', (ws, request, params, { call, answeredAt }) => serve(core, server.plugins.dialer, pacer, metrics, onLatency, agents, ws, call, answeredAt), {
            maxPayload: 64 * 1024,
            authorize: (request, params) => authorize(core, request, params.call_uuid!)
        });

        // Voicemail: the provider's machine event reaches whichever instance took the webhook

        const subscriber = core.redis.duplicate();
        subscriber.on('error', () => undefined);                    // the main client reports outages
        subscriber.on('message', (channel: string, message: string) => {

            const notice = JSON.parse(message) as MachineNotice;
            agents.get(notice.providerCallId)?.machine(notice.detail);
        });

        server.ext('onPreStart', () => void subscriber.subscribe(machineChannel(core.config.redisPrefix)).catch(() => undefined));  // resubscribed on reconnect
        server.ext('onPostStop', () => subscriber.disconnect());
    }
};


// Only the provider, holding the call's token, may attach, and only to a call that is live

interface Attached {
    call: Service.SocketCall;
    answeredAt: number;                                      // ms since the epoch, from the token
}

const authorize = async (core: Core, request: Http.IncomingMessage, providerCallId: string): Promise<Attached> => {

    const token = new URL(request.url ?? '/', 'http://localhost').searchParams.get('token');
    const answeredAt = verifyVoiceToken(core.config.jwtSecret!, providerCallId, token);
    if (answeredAt === null) {
        throw Boom.unauthorized('This voice socket needs its call\'s token');
    }

    const call = await Service.socketCall(core.db, providerCallId);
    if (!call) {
        throw Boom.notFound('No live call has this id');
    }

    return { call, answeredAt };
};


// The call's own two-channel recording, through the storage slot, beside the provider's

const keep = async (core: Core, dialer: CallOutcomes, call: Service.SocketCall, recorder: CallRecorder) => {

    const stored = await recorder.store(core.providers.get('storage'), `recordings/${call.tenant_id}/${call.id}/conversation.wav`);
    await dialer.keepRecording({ id: call.id, tenantId: call.tenant_id }, stored);
};


const settingsOf = (core: Core): TurnSettings => {

    const { config } = core;
    return {
        vad: { mode: config.voiceVadMode as 0 | 1 | 2 | 3, startMs: config.voiceVadStartMs, stopMs: config.voiceVadStopMs, minVolumeDb: config.voiceVadMinVolumeDb },
        finalWaitMs: config.voiceFinalWaitMs,
        bargeInMs: config.voiceBargeInMs,
        llmTimeoutMs: config.llmTimeoutSeconds * 1000,
        maxCallMs: config.voiceMaxCallMinutes * 60_000
    };
};


const serve = (core: Core, dialer: CallOutcomes, pacer: Pacer, metrics: VoiceMetrics, onLatency: Set<LatencyListener>, agents: Map<string, Agent>, ws: WebSocket, call: Service.SocketCall, answeredAt: number) => {

    const { db, clock, providers, logger } = core;
    const log = logger.child({ call: call.id });
    const telephony = providers.get('telephony');
    const transferNumber = typeof call.script_config?.transfer_number === 'string' ? call.script_config.transfer_number : null;

    const actions: CallActions = {
        hangUp: () => telephony.hangup(call.provider_call_id),
        markGoalAchieved: () => dialer.markGoalAchieved(call.id),
        scheduleCallback: (at) => dialer.scheduleCallback(call.id, at),
        addToDoNotCall: async (reason) => void await honourOptOut(db, clock.now(), { tenantId: call.tenant_id, phoneNumber: call.to_number, reason, callId: call.id }),
        transfer: () => telephony.transfer(call.provider_call_id, transferNumber!),
        canTransfer: transferNumber !== null
    };

    let agent: Agent | null = null;
    let recorder: CallRecorder | null = null;
    let seq = 0;
    let awaitingFirstAudio = true;
    ++metrics.activeCalls;

    // Abandonment is measured from the answer (the provider's time to open this socket included)
    // to the agent's first frame out

    const sinceAnswer = () => clock.now().getTime() - answeredAt;

    const firstFrame = () => {

        awaitingFirstAudio = false;
        firstAudio(core, call, sinceAnswer()).catch((err: Error) => log.error({ err }, 'first audio not kept'));
    };

    const socket = new AudioSocket(ws, pacer, {
        connected: ({ sampleRate }) => {

            if (call.calling_config?.record === true) {
                recorder = new CallRecorder(sampleRate, bytesPerFrame(sampleRate));
            }

            agent = new Agent(socket, agentCall(call), {
                stt: providers.get('stt'),
                llm: providers.get('llm'),
                tts: providers.get('tts'),
                actions,
                settings: settingsOf(core),
                logger: log,
                now: () => clock.now(),
                saveTurn: async (turn) => {

                    const at = seq++;
                    await Service.saveTurn(db, call, at, turn);
                    core.live.publish({
                        tenant_id: call.tenant_id,
                        type: 'turn',
                        campaign_id: call.campaign_id,
                        call_id: call.id,
                        data: { call_id: call.id, seq: at, speaker: turn.speaker, text: turn.text, started_ms: turn.startMs, ended_ms: turn.endMs, interrupted: turn.interrupted }
                    });
                },
                measured: (latency: Latency) => {

                    metrics.response.add(latency.responseMs);
                    metrics.overhead.add(latency.overheadMs);
                    onLatency.forEach((listener) => listener(latency));
                },
                bargedIn: (ms) => metrics.bargeIn.add(ms)
            });

            agents.set(call.provider_call_id, agent);
            agent.start(sampleRate).catch((err: Error) => {

                log.error({ err }, 'voice agent did not start');
                socket.close(1011, 'The agent could not start');
            });
        },
        audio: (frame) => {

            recorder?.caller(frame);
            agent?.audio(frame);
        },
        sent: (frame) => {

            if (awaitingFirstAudio) {
                firstFrame();
            }

            recorder?.agent(frame);
        },
        dtmf: (digit) => agent?.dtmf(digit),
        played: () => undefined,
        failed: (err) => log.error({ err }, 'voice socket failed'),
        closed: () => {

            // Hung up on before a word came, after the 2 s: abandoned all the same

            if (awaitingFirstAudio && sinceAnswer() > abandonedAfterMs) {
                firstFrame();
            }

            --metrics.activeCalls;
            if (agent && agents.get(call.provider_call_id) === agent) {
                agents.delete(call.provider_call_id);
            }

            void agent?.close();
            if (recorder) {
                keep(core, dialer, call, recorder).catch((err: Error) => log.error({ err }, 'voice recording not kept'));
            }
        }
    });
};
