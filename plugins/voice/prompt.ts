import { disclosed, disclosureSentence, missingDisclosure } from '../campaigns/disclosure';
import type { AgentCall } from './agent';
import type { SocketCall } from './service';


// Who the agent is on a call, from its campaign: the greeting it opens with, the system prompt
// the LLM reads, the phrases the speech-to-text should expect.

const fill = (template: string, values: Record<string, string>) => template.replace(/\{(\w+)\}/g, (whole, key: string) => values[key] ?? whole);


// The opening must say who calls, that it is an AI, how to stop the calls and, when the call is
// recorded, that it is: what the greeting lacks is added, so campaigns written before the check
// disclose too

export const optOutSentence = (digit: string) => `To stop these calls, say stop or press ${digit}.`;

export const recordingNotice = 'This call is recorded.';

// Says to say stop, and which key to press: the campaign's own (a greeting naming another would
// send the caller to a key that does nothing)

const saysOptOut = (greeting: string, digit: string) => {

    const key = `press ${digit.replace(/[*#]/, '\\$&')}(?![\\w*#])`;
    return new RegExp(`\\bstop\\b[^.?!]*\\b${key}|\\b${key}[^.?!]*\\bstop\\b`, 'i').test(greeting);
};

const saysRecorded = /\brecord(ed|ing)\b/i;


export const opening = (greeting: string, options: { companyName: string; optOutDigit: string; record: boolean }) => {

    const parts = [greeting];
    if (missingDisclosure(greeting, options.companyName).length) {
        parts.push(fill(disclosureSentence, { company_name: options.companyName }));
    }

    if (!saysOptOut(greeting, options.optOutDigit)) {
        parts.push(optOutSentence(options.optOutDigit));
    }

    if (options.record && !saysRecorded.test(greeting)) {
        parts.push(recordingNotice);
    }

    return parts.join(' ');
};


// A voicemail left by an AI says so, and for whom, first

const voicemail = (message: string, companyName: string) => (missingDisclosure(message, companyName).length ? disclosed('voicemail_message', message, fill(disclosureSentence, { company_name: companyName })) : message);


export const optOutGoodbye = 'Understood. You will not be called again. Goodbye.';


// What people commonly answer a sales or reminder call with; the script's own questions join
// them. Kept short and unlike one another: an offline recogniser given a grammar picks among
// these, and the more there are, the more it confuses them.

const commonAnswers = [
    'yes', 'no', 'yes i am interested', 'no thank you', 'not interested', 'tell me more', 'who is this',
    'how much does it cost', 'call me tomorrow', 'stop calling me', 'goodbye'
];


export const agentCall = (call: SocketCall): AgentCall => {

    const script = call.script_config ?? {};
    const values = {
        agent_name: String(script.agent_name ?? 'Alex'),
        company_name: String(script.company_name ?? call.tenant_name),
        business: String(script.company_name ?? call.tenant_name),
        first_name: call.first_name ?? '',
        last_name: call.last_name ?? '',
        campaign: call.campaign_name
    };

    const calling = call.calling_config ?? {};
    const optOutDigit = typeof calling.opt_out_digit === 'string' && calling.opt_out_digit ? calling.opt_out_digit : '9';
    const greeting = opening(fill(String(script.greeting ?? 'Hello{first_name_comma} this is {agent_name}, an AI assistant calling from {company_name}.'), {
        ...values,
        first_name_comma: values.first_name ? ` ${values.first_name},` : ','
    }), { companyName: values.company_name, optOutDigit, record: calling.record === true });

    const faq = Array.isArray(script.faq) ? script.faq as Array<{ question: string; answer: string }> : [];
    const systemPrompt = [
        call.system_prompt || `You are ${values.agent_name}, a friendly AI assistant calling on behalf of ${values.company_name}.`,
        call.goal ? `The goal of this call: ${call.goal}` : null,
        `You are on a phone call with ${[values.first_name, values.last_name].filter(Boolean).join(' ') || 'the person who answered'}. Speak in short, natural sentences; never use lists, markdown or emoji.`,
        'When the goal is reached, call mark_goal_achieved. When the person says stop or asks not to be called again, call add_to_do_not_call and say a short goodbye. When they ask to be called another time, call schedule_callback. After saying goodbye, call end_call.',
        faq.length ? `Answers to common questions:\n${faq.map((item) => `Q: ${item.question}\nA: ${item.answer}`).join('\n')}` : null,
        typeof script.objection_handling === 'string' && script.objection_handling ? `Handling objections: ${script.objection_handling}` : null
    ].filter(Boolean).join('\n\n');

    return {
        script: { greeting, goal: call.goal ?? undefined, script: { ...script, agent_name: values.agent_name, company_name: values.company_name } },
        systemPrompt,
        voice: call.voice_id ?? undefined,
        greeting,
        optOutDigit,
        voicemail: typeof script.voicemail_message === 'string' && script.voicemail_message ? voicemail(fill(script.voicemail_message, values), values.company_name) : null,
        hints: [...commonAnswers, ...(script.transfer_number ? ['can i speak to a real person'] : []), ...faq.map((item) => item.question.toLowerCase().replace(/[^\w\s']/g, '').trim())]
    };
};
