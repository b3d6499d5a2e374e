import type { ChatMessage, ChatRequest, Llm, LlmChunk, ToolCall } from '../voice/slots';


// The offline LLM: a deterministic agent that walks the campaign's script. It reads the caller's
// last words, answers from the script (its FAQ, its closing), and calls the same tools a model
// would: the goal reached, a call back, the do-not-call list, a human, the end of the call. It
// streams its reply a word at a time, so the pipeline is exercised as with a real model.

interface Intent {
    name: string;
    pattern: RegExp;
}


const intents: Intent[] = [
    { name: 'opt_out', pattern: /\b(stop calling|do not call|don'?t call|never call|take me off|remove (me|my number)|unsubscribe)\b/i },
    { name: 'human', pattern: /\b(human|real person|a person|representative|operator|speak to (someone|somebody))\b/i },
    { name: 'callback', pattern: /\b(call (me )?(back|later|tomorrow|another time)|busy right now|not a good time|i am busy|i'?m busy)\b/i },
    { name: 'no', pattern: /^(no|nope|not interested|no thank(s| you))\b|\bnot interested\b/i },
    { name: 'yes', pattern: /^(yes|yeah|yep|sure|ok(ay)?|absolutely|definitely)\b|\b(i am interested|i'?m interested|sounds good|sign me up|let'?s do it)\b/i },
    { name: 'who', pattern: /\b(who is this|who are you|what is this about|why are you calling)\b/i }
];


const words = (text: string) => new Set(text.toLowerCase().replace(/[^\w\s']/g, ' ').split(/\s+/).filter((word) => word.length > 2));


// The FAQ entry sharing the most words with the question, if it shares at least two

const faqAnswer = (faq: Array<{ question: string; answer: string }>, text: string) => {

    const said = words(text);
    let best: { answer: string; score: number } | null = null;
    for (const item of faq) {
        const score = [...words(item.question)].filter((word) => said.has(word)).length;
        if (score >= 2 && (!best || score > best.score)) {
            best = { answer: item.answer, score };
        }
    }

    return best?.answer ?? null;
};


const lastUserText = (messages: ChatMessage[]) => {

    for (let i = messages.length - 1; i >= 0; --i) {
        const message = messages[i]!;
        if (message.role === 'user') {
            return message.content;
        }

        if (message.role === 'tool') {
            return null;                         // the tools of this turn ran: only the closing words are left
        }
    }

    return '';
};


const misunderstood = (messages: ChatMessage[]) => messages.filter((message) => message.role === 'assistant' && message.content.startsWith('Sorry, I did not catch that')).length;


export const scriptedLlm = (options: { wordDelayMs?: number } = {}): Llm => ({

    async *stream(request: ChatRequest): AsyncIterable<LlmChunk> {

        const { messages, tools, signal, context } = request;
        const script = (context.script ?? {}) as { closing?: string; company_name?: string; faq?: Array<{ question: string; answer: string }> };
        const closing = script.closing ?? 'Thank you for your time. Goodbye.';
        const available = new Set(tools.map((tool) => tool.name));
        const text = lastUserText(messages);
        let n = 0;
        const tool = (name: string, args: Record<string, unknown> = {}): LlmChunk | null => (available.has(name) ? { type: 'tool', call: { id: `call_${messages.length}_${n++}`, name, arguments: args } as ToolCall } : null);

        let reply: string;
        let calls: Array<LlmChunk | null> = [];
        if (text === null) {
            return;                              // after the tools: nothing more to say
        }

        const intent = intents.find((candidate) => candidate.pattern.test(text))?.name;
        const answer = faqAnswer(script.faq ?? [], text);
        if (intent === 'opt_out') {
            reply = 'I understand. I have taken your number off our list, and you will not be called again. Goodbye.';
            calls = [tool('add_to_do_not_call', { reason: text.slice(0, 200) }), tool('end_call')];
        }
        else if (intent === 'human') {
            reply = available.has('transfer_to_human') ? 'Of course, let me connect you with a colleague now.' : 'I am sorry, no one is available right now. We will call you back. Goodbye.';
            calls = available.has('transfer_to_human') ? [tool('transfer_to_human')] : [tool('end_call')];
        }
        else if (intent === 'callback') {
            reply = 'No problem, I will call you back tomorrow. Goodbye.';
            calls = [tool('schedule_callback', { at: new Date(Date.now() + 24 * 3600_000).toISOString() }), tool('end_call')];
        }
        else if (answer) {
            reply = answer;
        }
        else if (intent === 'yes') {
            reply = `Wonderful. ${closing}`;
            calls = [tool('mark_goal_achieved'), tool('end_call')];
        }
        else if (intent === 'no') {
            reply = `I understand. ${closing}`;
            calls = [tool('end_call')];
        }
        else if (intent === 'who') {
            reply = `I am an AI assistant calling from ${script.company_name ?? 'our company'}. ${context.goal ? `I am calling about ${context.goal.replace(/\.$/, '')}.` : ''}`.trim();
        }
        else if (misunderstood(messages) >= 2) {
            reply = `I am sorry, the line seems bad. ${closing}`;
            calls = [tool('end_call')];
        }
        else {
            reply = 'Sorry, I did not catch that. Could you say it again?';
        }

        for (const word of reply.split(/(?<= )/)) {
            if (signal.aborted) {
                return;
            }

            if (options.wordDelayMs) {
                await new Promise((resolve) => setTimeout(resolve, options.wordDelayMs));
            }

            yield { type: 'text', text: word };
        }

        for (const call of calls) {
            if (call && !signal.aborted) {
                yield call;
            }
        }
    }
});
