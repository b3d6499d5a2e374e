import { getEventListeners } from 'events';

import Code from '@hapi/code';
import Lab from '@hapi/lab';

import { load } from '../config';
import { Providers } from '../core/providers';
import { plugin } from '../plugins/openai';
import { openaiLlm } from '../plugins/openai/llm';
import type { ChatRequest, Llm, LlmChunk, ToolSpec } from '../plugins/voice/slots';
import { startOpenai } from './fakes/openai';


const { describe, it, before, after, beforeEach } = exports.lab = Lab.script();
const { expect } = Code;


const collect = async (chunks: AsyncIterable<LlmChunk>) => {

    const received: LlmChunk[] = [];
    for await (const chunk of chunks) {
        received.push(chunk);
    }

    return received;
};


const request = (overrides: Partial<ChatRequest> = {}): ChatRequest => ({
    messages: [{ role: 'user', content: 'Hello?' }],
    tools: [],
    signal: new AbortController().signal,
    context: {},
    ...overrides
});


const text = (value: string): LlmChunk => ({ type: 'text', text: value });


const lookupOrder: ToolSpec = {
    name: 'lookup_order',
    description: 'Finds an order by its id',
    parameters: { type: 'object', properties: { order_id: { type: 'string' } }, required: ['order_id'] }
};


describe('openai llm', () => {

    let fake: Awaited<ReturnType<typeof startOpenai>>;
    let llm: Llm;

    before(async () => {

        fake = await startOpenai();
        llm = openaiLlm({ baseUrl: fake.baseUrl, apiKey: 'sk-test', model: 'gpt-test' });
    });

    after(() => fake.close());

    beforeEach(() => {

        fake.requests.length = 0;
    });

    it('sends the model, the messages of every role, the tools and the key', async () => {

        fake.reply({ text: ['Sure.'] });
        const messages: ChatRequest['messages'] = [
            { role: 'system', content: 'You are Talky.' },
            { role: 'user', content: 'Where is my order A-17?' },
            { role: 'assistant', content: '', toolCalls: [{ id: 'call_1', name: 'lookup_order', arguments: { order_id: 'A-17' } }] },
            { role: 'tool', toolCallId: 'call_1', content: '{"status":"shipped"}' },
            { role: 'assistant', content: 'It has shipped.' },
            { role: 'user', content: 'Thanks' }
        ];

        expect(await collect(llm.stream(request({ messages, tools: [lookupOrder] })))).to.equal([text('Sure.')]);
        expect(fake.requests).to.have.length(1);
        expect(fake.requests[0]!.authorization).to.equal('Bearer sk-test');
        expect(fake.requests[0]!.body).to.equal({
            model: 'gpt-test',
            messages: [
                { role: 'system', content: 'You are Talky.' },
                { role: 'user', content: 'Where is my order A-17?' },
                { role: 'assistant', content: '', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'lookup_order', arguments: '{"order_id":"A-17"}' } }] },
                { role: 'tool', tool_call_id: 'call_1', content: '{"status":"shipped"}' },
                { role: 'assistant', content: 'It has shipped.' },
                { role: 'user', content: 'Thanks' }
            ],
            tools: [{ type: 'function', function: { name: 'lookup_order', description: 'Finds an order by its id', parameters: lookupOrder.parameters } }],
            stream: true,
            stream_options: { include_usage: true }
        });

        // Without tools the request names none: some servers refuse an empty list

        await collect(llm.stream(request()));
        expect(fake.requests[1]!.body).to.equal({ model: 'gpt-test', messages: [{ role: 'user', content: 'Hello?' }], stream: true, stream_options: { include_usage: true } });
    });

    it('passes each token on as it arrives', async () => {

        fake.reply({ text: ['Hel', 'lo, ', 'how can', ' I help?'], pauseAfter: 1 });
        const chunks = llm.stream(request())[Symbol.asyncIterator]();

        // The server holds the rest back until the first token is in: a buffering adapter would wait forever

        expect(await chunks.next()).to.equal({ done: false, value: text('Hel') });
        fake.requests[0]!.resume();

        const rest: LlmChunk[] = [];
        let next = await chunks.next();
        while (!next.done) {
            rest.push(next.value);
            next = await chunks.next();
        }

        expect(rest).to.equal([text('lo, '), text('how can'), text(' I help?')]);
    });

    it('assembles tool calls from their fragments, two at once', async () => {

        fake.reply({
            text: ['Let me check.'],
            toolCalls: [
                { id: 'call_a', name: 'lookup_order', arguments: ['{"or', 'der_id', '": "A-', '17"}'] },
                { id: 'call_b', name: 'transfer', arguments: ['{"department":', ' "billing", ', '"urgent": true}'] }
            ],
            interleave: true
        });

        expect(await collect(llm.stream(request({ tools: [lookupOrder] })))).to.equal([
            text('Let me check.'),
            { type: 'tool', call: { id: 'call_a', name: 'lookup_order', arguments: { order_id: 'A-17' } } },
            { type: 'tool', call: { id: 'call_b', name: 'transfer', arguments: { department: 'billing', urgent: true } } }
        ]);

        // One call after the other, one without arguments, finished with 'stop' as Ollama does

        fake.reply({
            toolCalls: [
                { id: 'call_c', name: 'hang_up', arguments: [] },
                { id: 'call_d', name: 'lookup_order', arguments: ['{"order_id":', '"B-2"}'] }
            ],
            finishReason: 'stop'
        });

        expect(await collect(llm.stream(request()))).to.equal([
            { type: 'tool', call: { id: 'call_c', name: 'hang_up', arguments: {} } },
            { type: 'tool', call: { id: 'call_d', name: 'lookup_order', arguments: { order_id: 'B-2' } } }
        ]);
    });

    it('names the tool whose arguments are not a JSON object', async () => {

        fake.reply(
            { toolCalls: [{ id: 'call_a', name: 'lookup_order', arguments: ['{"order_id": ', '"A-'] }] },
            { toolCalls: [{ id: 'call_b', name: 'transfer', arguments: ['["billing"]'] }] }
        );

        await expect(collect(llm.stream(request()))).to.reject(Error, 'LLM called tool lookup_order with arguments that are not a JSON object: {"order_id": "A-');
        await expect(collect(llm.stream(request()))).to.reject(Error, 'LLM called tool transfer with arguments that are not a JSON object: ["billing"]');
    });

    it('names the status and the server\'s message of an error answer, without retrying', async () => {

        fake.reply(
            { status: 401, error: { message: 'Incorrect API key provided: sk-test.', type: 'invalid_request_error', code: 'invalid_api_key' } },
            { status: 429, error: { message: 'Rate limit reached for gpt-test.', type: 'requests', code: 'rate_limit_exceeded' } },
            { status: 500, error: { message: 'The server had an error while processing your request.', type: 'server_error' } }
        );

        await expect(collect(llm.stream(request()))).to.reject(Error, `LLM request to ${fake.baseUrl} failed: 401 Incorrect API key provided: sk-test`);
        await expect(collect(llm.stream(request()))).to.reject(Error, `LLM request to ${fake.baseUrl} failed: 429 Rate limit reached for gpt-test`);
        await expect(collect(llm.stream(request()))).to.reject(Error, `LLM request to ${fake.baseUrl} failed: 500 The server had an error while processing your request`);
        expect(fake.requests).to.have.length(3);
    });

    it('throws when the connection drops mid-stream, after what came before', async () => {

        fake.reply({ text: ['One', ' two', ' three'], delayMs: 2, dropAfter: 2 });
        const received: LlmChunk[] = [];
        const consume = async () => {

            for await (const chunk of llm.stream(request())) {
                received.push(chunk);
            }
        };

        await expect(consume()).to.reject(Error, /^LLM request to http:\/\/127\.0\.0\.1:\d+\/v1 failed: terminated/);
        expect(received).to.equal([text('One'), text(' two')]);
    });

    it('throws when the stream ends before the reply is finished', async () => {

        fake.reply({ text: ['One', ' two'], stopAfter: 1 });
        await expect(collect(llm.stream(request()))).to.reject(Error, `LLM stream from ${fake.baseUrl} ended before the reply was finished`);
    });

    it('says so when nothing answers at the address', async () => {

        const gone = await startOpenai();
        await gone.close();

        const unreachable = openaiLlm({ baseUrl: gone.baseUrl, model: 'gpt-test' });
        await expect(collect(unreachable.stream(request()))).to.reject(Error, /^LLM request to http:\/\/127\.0\.0\.1:\d+\/v1 failed: Connection error: fetch failed: connect ECONNREFUSED/);
    });

    it('ends quietly on barge-in, and closes the request', async () => {

        fake.reply({ text: ['Our plans', ' start at', ' ten dollars'], pauseAfter: 1 });
        const controller = new AbortController();
        const chunks = llm.stream(request({ signal: controller.signal }))[Symbol.asyncIterator]();

        expect(await chunks.next()).to.equal({ done: false, value: text('Our plans') });

        // The adapter is waiting for the next token when the caller speaks

        const next = chunks.next();
        controller.abort();
        expect(await next).to.equal({ done: true, value: undefined });

        await fake.requests[0]!.closed;
        expect(fake.requests[0]!.closedEarly).to.be.true();
    });

    it('passes on nothing more once the caller barges in, even tokens already received', async () => {

        // All the tokens arrive together, then the server holds the end back

        fake.reply({ text: ['One', ' two', ' three'], pauseAfter: 3 });
        const controller = new AbortController();
        const received: LlmChunk[] = [];
        for await (const chunk of llm.stream(request({ signal: controller.signal }))) {
            received.push(chunk);
            controller.abort();
        }

        expect(received).to.equal([text('One')]);
        await fake.requests[0]!.closed;
        expect(fake.requests[0]!.closedEarly).to.be.true();
    });

    it('leaves no listener behind on the caller\'s signal, however many turns share it', async () => {

        const controller = new AbortController();
        for (let i = 0; i < 12; ++i) {
            fake.reply({ text: [`Turn ${i}`] });
            expect(await collect(llm.stream(request({ signal: controller.signal })))).to.equal([text(`Turn ${i}`)]);
        }

        fake.reply({ status: 500, error: { message: 'Overloaded', type: 'server_error' } });
        await expect(collect(llm.stream(request({ signal: controller.signal })))).to.reject(Error, /500 Overloaded/);
        expect(getEventListeners(controller.signal, 'abort')).to.equal([]);
    });

    it('sends nothing when the caller has already hung up', async () => {

        const controller = new AbortController();
        controller.abort();
        expect(await collect(llm.stream(request({ signal: controller.signal })))).to.equal([]);
        expect(fake.requests).to.have.length(0);
    });

    it('is the openai provider of the llm slot, with a placeholder key when none is set', async () => {

        const config = load({ LLM_PROVIDER: 'openai', OPENAI_BASE_URL: fake.baseUrl, LLM_MODEL: 'llama3.2' });
        const providers = new Providers(config);
        await plugin.register({ plugins: { core: { config, providers } } } as never, undefined);

        fake.reply({ text: ['Hi'] });
        expect(await collect(providers.get('llm').stream(request()))).to.equal([text('Hi')]);
        expect(fake.requests[0]!.body.model).to.equal('llama3.2');
        expect(fake.requests[0]!.authorization).to.equal('Bearer none');
    });
});
