import Http from 'http';
import type { AddressInfo } from 'net';
import { setTimeout as sleep } from 'timers/promises';


// An OpenAI-compatible chat endpoint on loopback, streaming Server-Sent Events as OpenAI does.
// Each request takes the next scripted reply; each is recorded for the tests to look at.

export interface FakeToolCall {
    id: string;
    name: string;
    arguments: string[];                         // the argument text, in the pieces it is streamed in
}

export interface Reply {
    text?: string[];                             // one chunk per token
    toolCalls?: FakeToolCall[];
    interleave?: boolean;                        // fragments of the tool calls alternate instead of following each other
    finishReason?: string;                       // 'tool_calls' when there are tool calls, 'stop' otherwise
    delayMs?: number;                            // before each chunk
    pauseAfter?: number;                         // after this many tokens or fragments, wait for the request's resume()
    dropAfter?: number;                          // after this many tokens or fragments, destroy the connection
    stopAfter?: number;                          // after this many tokens or fragments, end the response (no finish, no [DONE])
    status?: number;                             // answer this error instead, with `error` as OpenAI's error body
    error?: { message: string; type: string; code?: string | null };
}

export interface Recorded {
    body: Record<string, any>;
    authorization?: string;
    closedEarly: boolean;                        // the client left before the response ended
    closed: Promise<void>;
    resume(): void;
}


const errorTypes: Record<number, { type: string; code: string | null }> = {
    401: { type: 'invalid_request_error', code: 'invalid_api_key' },
    429: { type: 'requests', code: 'rate_limit_exceeded' },
    500: { type: 'server_error', code: null }
};


// The deltas after the opening one: the tokens, then each tool call's fragments (id and name
// first; a call without arguments has no argument text at all, as some servers send it)

const deltasOf = (reply: Reply) => {

    const deltas: Record<string, unknown>[] = (reply.text ?? []).map((token) => ({ content: token }));

    const perCall = (reply.toolCalls ?? []).map((call, index) => [
        { tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.name, ...(call.arguments.length && { arguments: '' }) } }] },
        ...call.arguments.map((piece) => ({ tool_calls: [{ index, function: { arguments: piece } }] }))
    ]);

    if (reply.interleave) {
        const longest = Math.max(...perCall.map((fragments) => fragments.length));
        for (let i = 0; i < longest; ++i) {
            deltas.push(...perCall.map((fragments) => fragments[i]).filter(Boolean));
        }
    }
    else {
        deltas.push(...perCall.flat());
    }

    return deltas;
};


const respond = async (reply: Reply, res: Http.ServerResponse, recorded: Recorded, resumed: Promise<void>, state: { dropped: boolean }) => {

    if (reply.status) {
        const error = reply.error ?? { message: `Error ${reply.status}`, ...errorTypes[reply.status] };
        res.writeHead(reply.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: error.message, type: error.type, param: null, code: error.code ?? null } }));
        return;
    }

    const body = recorded.body;
    const id = `chatcmpl-fake${Math.random().toString(36).slice(2, 10)}`;
    const created = Math.floor(Date.now() / 1000);
    const usage = body.stream_options?.include_usage;

    const send = (delta: Record<string, unknown>, finishReason: string | null = null) => {

        const chunk = {
            id,
            object: 'chat.completion.chunk',
            created,
            model: body.model,
            system_fingerprint: 'fp_fake',
            choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
            ...(usage && { usage: null })
        };

        res.write(`data: ${JSON.stringify(chunk)}\n\n`);
    };

    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    send({ role: 'assistant', content: '', refusal: null });

    const deltas = deltasOf(reply);
    for (let i = 0; i <= deltas.length; ++i) {
        if (i === reply.pauseAfter) {
            await Promise.race([resumed, recorded.closed]);
        }

        if (i === reply.dropAfter) {
            await new Promise((resolve) => res.socket!.write('', resolve));     // what was sent arrives before the drop
            state.dropped = true;
            res.socket!.destroy();
            return;
        }

        if (i === reply.stopAfter) {
            res.end();
            return;
        }

        if (reply.delayMs) {
            await sleep(reply.delayMs);
        }

        if (recorded.closedEarly) {
            return;
        }

        if (i < deltas.length) {
            send(deltas[i]!);
        }
    }

    send({}, reply.finishReason ?? (reply.toolCalls?.length ? 'tool_calls' : 'stop'));
    if (usage) {
        const completion = deltas.length;
        res.write(`data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model: body.model, system_fingerprint: 'fp_fake', choices: [], usage: { prompt_tokens: 10, completion_tokens: completion, total_tokens: 10 + completion } })}\n\n`);
    }

    res.end('data: [DONE]\n\n');
};


export const startOpenai = async () => {

    const replies: Reply[] = [];
    const requests: Recorded[] = [];

    const server = Http.createServer(async (req, res) => {

        const chunks: Buffer[] = [];
        for await (const chunk of req) {
            chunks.push(chunk as Buffer);
        }

        if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
            res.writeHead(404, { 'content-type': 'application/json' });
            res.end(JSON.stringify({ error: { message: `Unknown request ${req.method} ${req.url}`, type: 'invalid_request_error', param: null, code: 'unknown_url' } }));
            return;
        }

        let resume!: () => void;
        const resumed = new Promise<void>((resolve) => {

            resume = resolve;
        });

        const state = { dropped: false };
        const recorded: Recorded = {
            body: JSON.parse(Buffer.concat(chunks).toString()),
            authorization: req.headers.authorization,
            closedEarly: false,
            closed: new Promise((resolve) => {

                res.on('close', () => {

                    recorded.closedEarly = !res.writableEnded && !state.dropped;
                    resolve();
                });
            }),
            resume
        };

        requests.push(recorded);
        await respond(replies.shift() ?? { text: ['Hello'] }, res, recorded, resumed, state);
    });

    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;

    return {
        baseUrl: `http://127.0.0.1:${port}/v1`,
        requests,
        reply: (...scripted: Reply[]) => replies.push(...scripted),
        close: () => {

            server.closeAllConnections();
            return new Promise<void>((resolve) => server.close(() => resolve()));
        }
    };
};
