import { performance } from 'perf_hooks';

import type { Logger } from 'pino';

import { durationMs, frameMs } from './audio';
import { optOutGoodbye } from './prompt';
import { Sentences } from './sentences';
import type { ChatMessage, Llm, ScriptContext, Stt, SttSession, ToolCall, Transcript, Tts } from './slots';
import type { AudioSocket } from './socket';
import { afterwards, runTool, toolSpecs, type CallActions } from './tools';
import { Vad, type VadSettings } from './vad';


// The AI agent of one answered call: it greets, listens, decides when the caller has finished,
// answers through the LLM and the TTS a sentence at a time, and stops the moment the caller
// talks over it. Everything it says and hears becomes a turn of the transcript, with the
// latency the caller felt and where it went.

export interface TurnSettings {
    vad: VadSettings;
    finalWaitMs: number;                         // after the caller falls silent, how long the STT may take to give its final
    bargeInMs: number;                           // caller speech this long stops the agent (shorter: a backchannel)
    llmTimeoutMs: number;                        // longest wait for the LLM's first token
    maxCallMs: number;
}

export interface Turn {
    speaker: 'agent' | 'caller';
    text: string;
    startMs: number;                             // offsets from the socket's start
    endMs: number;
    interrupted: boolean;
    latency?: Latency;
}

// Why a reply's engines are stopped. One reason made once: abort() without one builds an
// exception with its stack per reply, and two hundred barge-ins at once add up

const stopped = new DOMException('The reply was stopped', 'AbortError');


// Per agent reply: from the caller's end of speech to our first audio frame, and its parts

export interface Latency {
    responseMs: number;
    endpointingMs: number;                       // end of speech -> the turn's end decided
    sttMs: number | null;                        // end of speech -> the STT's final
    llmMs: number | null;                        // request -> first token
    ttsMs: number | null;                        // first sentence -> first audio
    overheadMs: number;                          // ours: the turn's end decided -> first frame out, less the LLM and TTS waits
}

export interface AgentCall {
    script: ScriptContext;
    systemPrompt: string;
    voice?: string;
    language?: string;
    greeting: string;
    optOutDigit?: string;                        // the key that stops the calls (default 9)
    voicemail: string | null;                    // left after the beep; none: a machine is hung up on
    hints: string[];
}

export interface AgentDeps {
    stt: Stt;
    llm: Llm;
    tts: Tts;
    actions: CallActions;
    settings: TurnSettings;
    logger: Logger;
    now(): Date;
    saveTurn(turn: Turn): Promise<void>;
    measured?(latency: Latency): void;
    bargedIn?(clearMs: number): void;
}


const beepWaitMs = 5000;
const apology = 'I\'m sorry, we\'re having technical trouble on our side. We\'ll try you again later. Goodbye.';
const backchannel = /^(?:(?:mm+[- ]?hm+|uh[- ]?huh|yeah|yes|yep|ok(?:ay)?|right|sure|i see|got it|hmm+)[\s,.!?]*)+$/i;

const isBackchannel = (text: string) => backchannel.test(text.trim());

// The opening tells the caller to say stop: a bare stop, or words that can only mean "stop
// calling me", need no model to understand them. A "don't stop" or a "stopwatch" is not one.

const bareStop = /^(?:(?:no|ok(?:ay)?|please|just|so|yes|look|hey|oh)[\s,.!]+)*stop(?:[\s,.!]+(?:stop|it|now|please|that|calling(?: me| us| this number| here)?))*[\s,.!]*$/i;

const stopPhrase = new RegExp([
    /(?<!\b(?:don'?t|do not|never|not)\s+)\bstop calling\b/,
    /\b(?:take|get|remove|delete) (?:me|us|my number|this number|my name) (?:off|from|out of) (?:[\w-]+ ){0,3}(?:list|database|system)s?\b/,
    /\bdo[\s-]not[\s-]call list\b/,
    /\b(?:don'?t|do not|never) (?:ever )?call (?:me|us|this number|here) (?:again|anymore|any more|ever)\b/,
    /\bunsubscribe\b/
].map((pattern) => pattern.source).join('|'), 'i');

export const isStopRequest = (text: string) => bareStop.test(text.trim()) || stopPhrase.test(text);


interface Timing {
    endAt: number;                               // the caller's end of speech, on the performance clock
    decidedAt: number;                           // the turn's end decided
    finalAt: number | null;                      // the STT's final came
}


interface Reply {
    abort: AbortController;
    fromLlm: boolean;                            // cut off, the LLM is told what was heard
    text: string;                                // what has gone to the TTS
    audioMs: number;                             // audio received for it
    framesBefore: number | null;                 // the socket's frame count when its first frame left
    startMs: number;
    latency: Latency | null;
}


export class Agent {

    #vad: Vad | null = null;
    #stt: SttSession | null = null;
    #messages: ChatMessage[];
    #reply: Reply | null = null;
    #heard: string[] = [];                       // the caller's finals of the turn in progress
    #utterance = '';                             // the latest words of the speech going on
    #speechEndMs: number | null = null;          // stream time the caller's last speech ended
    #speechEndAt: number | null = null;          // and the performance clock then
    #speechStartMs = 0;
    #finalAt: number | null = null;
    #finalWait: NodeJS.Timeout | null = null;
    #bargedIn = false;
    #ending = false;
    #optedOut = false;
    #hungUp = false;
    #closed = false;
    #voicemail: 'waiting' | 'left' | null = null;
    #beepWait: NodeJS.Timeout | null = null;
    #limit: NodeJS.Timeout | null = null;
    #started = performance.now();
    #saving: Promise<void> = Promise.resolve();

    constructor(private readonly socket: AudioSocket, private readonly call: AgentCall, private readonly deps: AgentDeps) {

        this.#messages = [{ role: 'system', content: call.systemPrompt }];
    }

    get speaking() {

        return this.#reply !== null;
    }

    async start(sampleRate: number) {

        this.#vad = await Vad.create(sampleRate, this.deps.settings.vad);
        this.#limit = setTimeout(() => this.#fail(new Error('The call reached its longest length')), this.deps.settings.maxCallMs);
        try {
            this.#stt = await this.deps.stt.open({
                sampleRate,
                language: this.call.language,
                hints: this.call.hints,
                onTranscript: (transcript) => this.#transcript(transcript),
                onError: (err) => this.#fail(err)
            });
        }
        catch (err) {
            return this.#fail(err as Error);
        }

        await this.#speak(this.call.greeting);
    }

    // The caller's audio, 20 ms at a time

    audio(frame: Buffer) {

        if (this.#closed || !this.#vad) {
            return;                              // still starting: the greeting is not out yet anyway
        }

        this.#stt?.write(frame);
        const event = this.#vad.push(frame);
        const nowMs = this.socket.framesIn * frameMs;

        if (event) {
            this.deps.logger.debug({ vad: event }, 'voice activity');
        }

        if (event?.type === 'start') {
            this.#speechStartMs = event.atMs;
            this.#speechEndMs = null;
            this.#utterance = '';
            this.#cancelFinalWait();
        }

        // Talked over: long enough not to be a backchannel, unless the words say it is one

        if (this.#interruptible() && this.#vad.speechMs() >= this.deps.settings.bargeInMs && !isBackchannel(this.#utterance)) {
            this.#bargeIn();
        }

        if (event?.type === 'stop') {
            this.#speechEndMs = event.atMs;
            this.#speechEndAt = performance.now() - (nowMs - event.atMs);
            if (!this.#reply) {
                this.#stt?.finalize();
                this.#waitForFinal();
            }
        }
    }

    // A machine answered. With a message to leave, the agent falls silent, waits for the beep
    // (a second notice, or a few seconds when the provider does not detect beeps), says it once,
    // and hangs up; without one it hangs up at once.

    machine(detail?: string) {

        if (this.#closed || this.#voicemail === 'left') {
            return;
        }

        if (this.#reply) {
            this.#reply.abort.abort(stopped);
            this.socket.clear();
            this.#finishReply(true);
        }

        this.#ending = true;
        this.#cancelFinalWait();
        if (!this.call.voicemail) {
            this.#hangUp();
            return;
        }

        const leave = () => {

            clearTimeout(this.#beepWait!);
            if (this.#voicemail === 'left' || this.#closed) {
                return;
            }

            this.#voicemail = 'left';
            void this.#play((say) => {

                say(this.call.voicemail!);
                return Promise.resolve('hang_up' as const);
            }, null, false);
        };

        if (detail === 'beep_start' || detail === 'beep_timeout') {
            leave();
        }
        else if (this.#voicemail === null) {
            this.#voicemail = 'waiting';
            this.#beepWait = setTimeout(leave, beepWaitMs);
        }
    }

    dtmf(digit: string) {

        const optOut = digit === (this.call.optOutDigit ?? '9');
        if (this.#closed || (this.#ending && !optOut) || (optOut && this.#optedOut)) {
            return;
        }

        const at = this.#nowMs();
        if (this.#ending) {

            // The call ends already (an apology, a transfer): the key still stops the calls, in silence

            this.#record({ speaker: 'caller', text: `[pressed ${digit}]`, startMs: at, endMs: at, interrupted: false });
            void this.#stopCalls(`pressed ${digit} to stop the calls`);
            return;
        }

        if (this.#reply) {
            this.#bargeIn();
        }

        this.#record({ speaker: 'caller', text: `[pressed ${digit}]`, startMs: at, endMs: at, interrupted: false });
        if (optOut) {
            this.#optOut(`pressed ${digit} to stop the calls`);
            return;
        }

        this.#messages.push({ role: 'user', content: `[The caller pressed ${digit} on the keypad]` });
        void this.#respond(null);
    }

    // The socket closed: the caller hung up, or we did

    async close() {

        if (this.#closed) {
            return;
        }

        this.#closed = true;
        this.#cancelFinalWait();
        clearTimeout(this.#limit!);
        clearTimeout(this.#beepWait!);
        if (this.#reply) {
            this.#finishReply(true);
        }

        this.#vad?.close();
        await this.#stt?.close().catch(() => undefined);
        await this.#saving;
    }

    #nowMs() {

        return Math.round(performance.now() - this.#started);
    }

    // The STT's words: finals make up the caller's turn, which ends when the STT says so or when
    // the VAD's silence and the final have both come

    #transcript(transcript: Transcript) {

        if (this.#closed) {
            return;
        }

        this.deps.logger.debug({ transcript }, 'voice heard');
        const text = transcript.text.trim();
        if (text && this.#callerSpeaking) {
            this.#utterance = text;
        }

        // While the agent talks, words that are more than a backchannel interrupt it at once;
        // a backchannel is not kept as a turn of its own

        if (this.#reply) {
            if (text && !isBackchannel(text) && this.#interruptible()) {
                this.#bargeIn();
            }
            else if (text && isBackchannel(text)) {
                return;
            }
        }

        if (transcript.final && text) {
            this.#heard.push(text);
            this.#finalAt = performance.now();
        }

        if (this.#reply) {
            return;
        }

        if ((transcript.endOfTurn || (transcript.final && this.#speechEndMs !== null)) && !this.#callerSpeaking && this.#heard.length) {
            this.#endOfTurn();
        }
    }

    get #callerSpeaking() {

        return this.#vad?.speaking ?? false;
    }

    #interruptible() {

        return this.#reply !== null && !this.#ending && !this.#bargedIn && this.#callerSpeaking;
    }

    #waitForFinal() {

        this.#cancelFinalWait();
        this.#finalWait = setTimeout(() => this.#endOfTurn(), this.deps.settings.finalWaitMs);
    }

    #cancelFinalWait() {

        if (this.#finalWait) {
            clearTimeout(this.#finalWait);
            this.#finalWait = null;
        }
    }

    #endOfTurn() {

        this.#cancelFinalWait();
        const text = this.#heard.join(' ').trim();
        if (this.#closed || this.#reply || !text) {
            return;
        }

        if (this.#ending) {

            // The call ends already (an apology): a stop said now still stops the calls. A
            // machine's greeting is not a person asking.

            if (this.#voicemail === null && !this.#hungUp && !this.#optedOut && isStopRequest(text)) {
                this.#heard = [];
                this.#record({ speaker: 'caller', text, startMs: this.#speechStartMs, endMs: this.#speechEndMs ?? this.#nowMs(), interrupted: false });
                void this.#stopCalls(text);
            }

            return;
        }

        const decidedAt = performance.now();
        const endAt = this.#speechEndAt ?? decidedAt;
        this.#heard = [];
        this.#record({ speaker: 'caller', text, startMs: this.#speechStartMs, endMs: this.#speechEndMs ?? this.#nowMs(), interrupted: false });
        if (isStopRequest(text)) {
            this.#finalAt = null;
            this.#speechEndAt = null;
            this.#optOut(text);
            return;
        }

        this.#messages.push({ role: 'user', content: text });
        void this.#respond({ endAt, decidedAt, finalAt: this.#finalAt });
        this.#finalAt = null;
        this.#speechEndAt = null;
    }

    // The caller asked to stop the calls (the key, or a bare "stop"): on the list first, then a
    // short goodbye nothing interrupts, then the call ends whatever happened

    #optOut(reason: string) {

        this.#ending = true;
        this.#cancelFinalWait();
        void this.#play(async (say) => {

            await this.#stopCalls(reason);
            say(optOutGoodbye);
            return 'hang_up' as const;
        }, null, false).finally(() => this.#hangUp());
    }

    async #stopCalls(reason: string) {

        this.#optedOut = true;
        await this.deps.actions.addToDoNotCall(reason).catch((err: Error) => this.deps.logger.error({ err }, 'opt-out not recorded'));
    }

    // Barge-in: the agent stops at once, here and in Vonage's buffer, and its turn keeps only
    // what the caller heard

    #bargeIn() {

        const decided = performance.now();
        this.#bargedIn = true;
        this.#reply?.abort.abort(stopped);
        this.socket.clear();
        this.deps.bargedIn?.(performance.now() - decided);
        this.#finishReply(true);
    }

    async #speak(text: string) {

        this.#messages.push({ role: 'assistant', content: text });
        await this.#play((say) => {

            say(text);
            return Promise.resolve(null);
        }, null, false);
    }

    // One reply of the LLM, spoken as it is written; tools run as they come, and their results
    // go back to the LLM, which may then say more

    async #respond(timing: Timing | null) {

        const tools = toolSpecs({ canTransfer: this.deps.actions.canTransfer });
        let after: 'hang_up' | 'transfer' | null = null;
        let spoken = '';

        await this.#play(async (say, signal, marks) => {

            for (let i = 0; i < 3; ++i) {                     // rounds of tool calls
                const calls: ToolCall[] = [];
                let text = '';
                const requested = performance.now();
                const timeout = setTimeout(() => marks.timeout(), this.deps.settings.llmTimeoutMs);
                try {
                    for await (const chunk of this.deps.llm.stream({ messages: this.#messages, tools, signal, context: this.call.script })) {
                        clearTimeout(timeout);
                        marks.llm(requested);
                        if (chunk.type === 'text') {
                            text += chunk.text;
                            say(chunk.text);
                        }
                        else {
                            calls.push(chunk.call);
                        }
                    }
                }
                finally {
                    clearTimeout(timeout);
                }

                if (signal.aborted) {
                    return null;
                }

                spoken += text;
                this.#messages.push({ role: 'assistant', content: text, ...(calls.length ? { toolCalls: calls } : {}) });
                for (const call of calls) {
                    this.#messages.push({ role: 'tool', toolCallId: call.id, content: await runTool(this.deps.actions, call, this.deps.now()) });
                    after ??= afterwards(call, this.deps.actions);
                    this.#optedOut ||= call.name === 'add_to_do_not_call';
                }

                // A model that only calls the tool hangs up on a person who asked to stop: the
                // goodbye is said for it

                if (after === 'hang_up' && !spoken.trim() && calls.some((call) => call.name === 'add_to_do_not_call')) {
                    say(optOutGoodbye);
                }

                if (!calls.length || after || text.trim()) {
                    return after;
                }
            }

            return after;
        }, timing, true);
    }

    // Plays one agent turn: `write` feeds text to the TTS through `say`; the audio goes out as it
    // comes. Resolves once the caller has heard it all (or it was cut off).

    async #play(write: (say: (text: string) => void, signal: AbortSignal, marks: { llm(requested: number): void; timeout(): void }) => Promise<'hang_up' | 'transfer' | null>, timing: Timing | null, fromLlm: boolean) {

        if (this.#closed) {
            return;
        }

        const abort = new AbortController();
        const reply: Reply = { abort, fromLlm, text: '', audioMs: 0, framesBefore: null, startMs: this.#nowMs(), latency: null };
        this.#reply = reply;
        this.#bargedIn = false;

        const tts = this.deps.tts.turn({ sampleRate: this.socket.sampleRate, voice: this.call.voice, language: this.call.language, signal: abort.signal });
        const sentences = new Sentences();
        let llmMs: number | null = null;
        let firstSentenceAt: number | null = null;
        let firstAudioAt: number | null = null;
        let timedOut = false;

        const say = (text: string) => {

            for (const sentence of sentences.push(text)) {
                firstSentenceAt ??= performance.now();
                reply.text += (reply.text ? ' ' : '') + sentence;
                tts.say(sentence);
            }
        };

        const marks = {
            llm: (requested: number) => (llmMs ??= performance.now() - requested),
            timeout: () => {

                timedOut = true;
                abort.abort(stopped);
            }
        };

        const writing = write(say, abort.signal, marks).then((after) => {

            const rest = sentences.flush();
            if (rest && !abort.signal.aborted) {
                firstSentenceAt ??= performance.now();
                reply.text += (reply.text ? ' ' : '') + rest;
                tts.say(rest);
            }

            tts.end();
            return after;
        }, (err: Error) => {

            tts.end();
            throw err;
        });

        const speaking = (async () => {

            for await (const pcm of tts.audio) {
                if (abort.signal.aborted) {
                    break;
                }

                if (firstAudioAt === null) {
                    firstAudioAt = performance.now();
                    const ttsMs = firstSentenceAt === null ? null : firstAudioAt - firstSentenceAt;
                    const waitedMs = llmMs;
                    this.socket.mark(() => {

                        reply.framesBefore = this.socket.framesOut;
                        reply.latency = timing && latencyOf(timing, waitedMs, ttsMs);
                        if (reply.latency) {
                            this.deps.measured?.(reply.latency);
                        }
                    });
                }

                reply.audioMs += durationMs(pcm.length, this.socket.sampleRate);
                this.socket.play(pcm);
            }
        })();

        let after: 'hang_up' | 'transfer' | null = null;
        try {
            [after] = await Promise.all([writing, speaking]);
        }
        catch (err) {
            if (!abort.signal.aborted || timedOut) {
                this.deps.logger.warn({ err }, 'voice agent failed mid-reply');
                this.#finishReply(true);
                return this.#fail(err as Error);
            }
        }

        if (timedOut) {
            this.#finishReply(true);
            return this.#fail(new Error('The LLM did not answer in time'));
        }

        if (abort.signal.aborted || this.#reply !== reply) {
            return;                              // barged in: already recorded
        }

        // Heard in full once the last frame has left

        await new Promise<void>((resolve) => this.socket.mark(resolve));
        if (this.#reply === reply) {
            this.#finishReply(false);
        }

        if (after === 'transfer') {
            this.#ending = true;
            await this.deps.actions.transfer().catch((err: Error) => this.deps.logger.warn({ err }, 'transfer failed'));
        }
        else if (after === 'hang_up') {
            this.#hangUp();
        }
        else if (this.#heard.length && this.#speechEndMs !== null && !this.#callerSpeaking) {
            this.#endOfTurn();                   // the caller finished while the agent was talking
        }
    }

    // The agent's turn as the caller heard it: cut off, only the share of its text whose audio
    // was played (the text is spread evenly over the audio made for it)

    #finishReply(interrupted: boolean) {

        const reply = this.#reply;
        if (!reply) {
            return;
        }

        this.#reply = null;
        let text = reply.text;
        if (interrupted) {
            const playedMs = this.#playedMs(reply);
            const share = reply.audioMs ? Math.min(1, playedMs / reply.audioMs) : 0;
            text = cut(reply.text, share);
        }

        if (interrupted && reply.fromLlm) {
            this.#messages.push({ role: 'assistant', content: text ? `${text}... [interrupted by the caller]` : '[interrupted by the caller before a word was heard]' });
        }

        if (text || interrupted) {
            this.#record({ speaker: 'agent', text, startMs: reply.startMs, endMs: this.#nowMs(), interrupted, ...(reply.latency ? { latency: reply.latency } : {}) });
        }
    }

    #playedMs(reply: Reply) {

        return reply.framesBefore === null ? 0 : (this.socket.framesOut - reply.framesBefore + 1) * frameMs;
    }

    #record(turn: Turn) {

        this.#saving = this.#saving.then(() => this.deps.saveTurn(turn)).catch((err: Error) => this.deps.logger.error({ err }, 'voice turn not saved'));
    }

    // The provider is told, and the socket closes at once: with it the call's audio leg ends,
    // whether or not the provider answers

    #hangUp() {

        if (this.#hungUp || this.#closed) {
            return;
        }

        this.#hungUp = true;
        this.#ending = true;
        this.deps.actions.hangUp().catch((err: Error) => this.deps.logger.warn({ err: err.message }, 'hang-up failed'));
        this.socket.close(1000, 'call ended');
    }

    // Something broke: the caller hears an apology (if the TTS still works) and the call ends
    // cleanly, never a silent line or a socket left open

    async #fail(err: Error) {

        if (this.#closed || this.#ending) {
            return;
        }

        this.deps.logger.warn({ err: err.message }, 'voice call degraded');
        this.#ending = true;
        this.#reply?.abort.abort(stopped);
        if (this.#reply) {
            this.socket.clear();
            this.#finishReply(true);
        }

        try {
            const abort = new AbortController();
            const timer = setTimeout(() => abort.abort(stopped), 5000);
            const tts = this.deps.tts.turn({ sampleRate: this.socket.sampleRate, voice: this.call.voice, language: this.call.language, signal: abort.signal });
            tts.say(apology);
            tts.end();
            for await (const pcm of tts.audio) {
                this.socket.play(pcm);
            }

            clearTimeout(timer);
            await new Promise<void>((resolve) => this.socket.mark(resolve));
        }
        catch {
            // The TTS is what failed: hang up without words
        }

        this.#hangUp();
    }
}


const round = (ms: number) => Math.round(ms * 10) / 10;


// Called as the first frame leaves: everything from the caller's end of speech to now

const latencyOf = (timing: Timing, llmMs: number | null, ttsMs: number | null): Latency => {

    const sent = performance.now();
    return {
        responseMs: round(sent - timing.endAt),
        endpointingMs: round(timing.decidedAt - timing.endAt),
        sttMs: timing.finalAt === null ? null : round(Math.max(0, timing.finalAt - timing.endAt)),
        llmMs: llmMs === null ? null : round(llmMs),
        ttsMs: ttsMs === null ? null : round(ttsMs),
        overheadMs: round(Math.max(0, sent - timing.decidedAt - (llmMs ?? 0) - (ttsMs ?? 0)))
    };
};


const cut = (text: string, share: number) => {

    if (share >= 1) {
        return text;
    }

    const words = text.split(/\s+/).filter(Boolean);
    return words.slice(0, Math.round(words.length * share)).join(' ');
};
