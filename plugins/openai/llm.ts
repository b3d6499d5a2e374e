import OpenAI from 'openai';
import type { ChatCompletionChunk, ChatCompletionCreateParamsStreaming, ChatCompletionFunctionTool, ChatCompletionMessageParam } from 'openai/resources/chat/completions';

import type { ChatMessage, ChatRequest, Llm, LlmChunk, ToolCall, ToolSpec } from '../voice/slots';


// The LLM slot over any OpenAI-compatible chat endpoint: OpenAI, Groq, Ollama, llama.cpp, vLLM.
// Text is passed on token by token, since the first token's latency is heard on the call.

export interface OpenaiLlmOptions {
    baseUrl: string;
    apiKey?: string;
    model: string;
}


// Local servers such as Ollama ignore the key, but the client insists on one

const placeholderKey = 'none';


const toMessage = (message: ChatMessage): ChatCompletionMessageParam => {

    switch (message.role) {
        case 'assistant':
            return {
                role: 'assistant',
                content: message.content,
                ...(message.toolCalls?.length && {
                    tool_calls: message.toolCalls.map((call) => ({
                        id: call.id,
                        type: 'function' as const,
                        function: { name: call.name, arguments: JSON.stringify(call.arguments) }
                    }))
                })
            };

        case 'tool':
            return { role: 'tool', tool_call_id: message.toolCallId, content: message.content };

        default:
            return { role: message.role, content: message.content };
    }
};


const toTool = (tool: ToolSpec): ChatCompletionFunctionTool => ({
    type: 'function',
    function: { name: tool.name, description: tool.description, parameters: tool.parameters }
});


// A failure in one line: the status and the server's own words, or each layer of a network error

const reasons = (err: unknown) => {

    const messages: string[] = [];
    let cause = err;
    while (cause instanceof Error) {
        messages.push(cause.message.replace(/\.$/, ''));
        cause = cause.cause;
    }

    return messages.join(': ');
};


// The endpoint's chunks; a barge-in ends them quietly, and aborts the request. The client never
// lets go of the signal it is given, so it gets one of its own per request: a call's signal
// would otherwise gather a listener each turn.

const chunks = async function* (client: OpenAI, body: ChatCompletionCreateParamsStreaming, baseUrl: string, signal: AbortSignal): AsyncGenerator<ChatCompletionChunk> {

    const controller = new AbortController();
    const abort = () => controller.abort();
    signal.addEventListener('abort', abort);
    if (signal.aborted) {
        abort();
    }

    try {
        const stream = await client.chat.completions.create(body, { signal: controller.signal });
        for await (const chunk of stream) {
            if (signal.aborted) {                // chunks the client had already read are not wanted now
                return;
            }

            yield chunk;
        }
    }
    catch (err) {
        if (signal.aborted) {
            return;
        }

        throw new Error(`LLM request to ${baseUrl} failed: ${reasons(err)}`, { cause: err });
    }
    finally {
        signal.removeEventListener('abort', abort);
    }
};


// Tool calls arrive in fragments keyed by index: the id and name first, then the arguments in pieces

interface PendingCall {
    id: string;
    name: string;
    arguments: string;
}


// JSON.parse makes no objects but plain ones, arrays and null

const isObject = (value: unknown): value is Record<string, unknown> => Object.prototype.toString.call(value) === '[object Object]';


const parseArguments = (text: string): unknown => {

    try {
        return JSON.parse(text || '{}');                     // some servers send nothing for a call without arguments
    }
    catch {
        return undefined;
    }
};


const toToolCall = (pending: PendingCall): ToolCall => {

    const parsed = parseArguments(pending.arguments);
    if (!isObject(parsed)) {
        throw new Error(`LLM called tool ${pending.name} with arguments that are not a JSON object: ${pending.arguments}`);
    }

    return { id: pending.id, name: pending.name, arguments: parsed };
};


const completed = function* (pending: Map<number, PendingCall>): Generator<LlmChunk> {

    const calls = [...pending.entries()].sort(([a], [b]) => a - b).map(([, call]) => toToolCall(call));
    pending.clear();
    for (const call of calls) {
        yield { type: 'tool', call };
    }
};


export const openaiLlm = (options: OpenaiLlmOptions): Llm => {

    // No retries: a caller on the line cannot wait for them
    const client = new OpenAI({ apiKey: options.apiKey ?? placeholderKey, baseURL: options.baseUrl, maxRetries: 0 });

    return {
        async *stream(request: ChatRequest) {

            const body: ChatCompletionCreateParamsStreaming = {
                model: options.model,
                messages: request.messages.map(toMessage),
                ...(request.tools.length && { tools: request.tools.map(toTool) }),
                stream: true,
                stream_options: { include_usage: true }
            };

            const pending = new Map<number, PendingCall>();
            let finished = false;

            for await (const chunk of chunks(client, body, options.baseUrl, request.signal)) {
                const choice = chunk.choices[0];
                if (!choice) {                       // the closing usage chunk
                    continue;
                }

                if (choice.delta.content) {
                    yield { type: 'text', text: choice.delta.content };
                }

                for (const fragment of choice.delta.tool_calls ?? []) {
                    const call = pending.get(fragment.index) ?? { id: '', name: '', arguments: '' };
                    call.id = fragment.id ?? call.id;
                    call.name = fragment.function?.name ?? call.name;
                    call.arguments += fragment.function?.arguments ?? '';
                    pending.set(fragment.index, call);
                }

                if (choice.finish_reason) {
                    finished = true;
                }

                if (choice.finish_reason === 'tool_calls') {
                    yield* completed(pending);
                }
            }

            if (request.signal.aborted) {
                return;
            }

            // A reply cut short would be spoken, or its tools called, as if it were whole
            if (!finished) {
                throw new Error(`LLM stream from ${options.baseUrl} ended before the reply was finished`);
            }

            yield* completed(pending);                // servers such as Ollama finish with 'stop' after tool calls
        }
    };
};
