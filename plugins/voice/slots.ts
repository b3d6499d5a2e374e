// The voice pipeline's three provider slots. Audio is always 16-bit little-endian mono PCM at
// the rate the caller asks for (the call's: 8, 16 or 24 kHz); an adapter whose service works at
// another rate resamples (see audio.ts). Every stream can be cancelled at once: barge-in cuts a
// reply off mid-word and a hang-up ends everything.


// Speech to text: one session per call, fed the caller's audio as it comes

export interface Transcript {
    text: string;
    final: boolean;                              // this piece will not change any more
    endOfTurn?: boolean;                         // the service heard the speaker finish (speech_final, UtteranceEnd)
    startMs?: number;                            // offsets in the session's audio
    endMs?: number;
    confidence?: number;
}

export interface SttOptions {
    sampleRate: number;
    language?: string;                           // BCP 47, e.g. en-US
    hints?: string[];                            // phrases the script expects (a grammar, keywords)
    onTranscript(transcript: Transcript): void;
    onError(err: Error): void;                   // the session is lost: the call degrades gracefully
}

export interface SttSession {
    write(pcm: Buffer): void;
    finalize(): void;                            // the local VAD heard silence: give the final now
    close(): Promise<void>;
}

export interface Stt {
    open(options: SttOptions): Promise<SttSession>;
}


// The LLM: a chat streamed token by token, with tools it may call instead of (or after) speaking

export interface ToolCall {
    id: string;
    name: string;
    arguments: Record<string, unknown>;
}

export type ChatMessage =
    | { role: 'system' | 'user'; content: string }
    | { role: 'assistant'; content: string; toolCalls?: ToolCall[] }
    | { role: 'tool'; toolCallId: string; content: string };

export interface ToolSpec {
    name: string;
    description: string;
    parameters: Record<string, unknown>;         // JSON Schema of the arguments
}

export type LlmChunk =
    | { type: 'text'; text: string }
    | { type: 'tool'; call: ToolCall };

// The campaign's script travels with each request: an offline engine walks it, a real model
// has read it in the system prompt

export interface ScriptContext {
    greeting?: string;
    goal?: string;
    script?: Record<string, unknown>;            // the campaign's script_config
}

export interface ChatRequest {
    messages: ChatMessage[];
    tools: ToolSpec[];
    signal: AbortSignal;                         // aborted on barge-in or hang-up
    context: ScriptContext;
}

export interface Llm {
    stream(request: ChatRequest): AsyncIterable<LlmChunk>;
}


// Text to speech: one stream per agent turn, fed sentence by sentence as the LLM writes them

export interface TtsOptions {
    sampleRate: number;
    voice?: string;                              // the campaign's voice_id; the adapter's default otherwise
    language?: string;
    signal: AbortSignal;                         // aborted on barge-in or hang-up: audio stops at once
}

export interface TtsTurn {
    say(text: string): void;                     // spoken after what was said before in this turn
    end(): void;                                 // nothing more this turn: audio ends once all is spoken
    audio: AsyncIterable<Buffer>;                // PCM as it is made; throws when the service fails
}

export interface Tts {
    turn(options: TtsOptions): TtsTurn;
}


declare module '../../core/providers' {
    interface ProviderSlots {
        stt: Stt;
        llm: Llm;
        tts: Tts;
    }
}
