import Boom from '@hapi/boom';


// An AI voice is an "artificial voice": each call must say, from its first words, who is calling
// and that the caller is an AI, and how to stop the calls. A campaign's greeting is checked when
// it is written; the voice agent adds the opt-out and recording sentences when they are missing.

export type DisclosureMode = 'add' | 'refuse';

export const disclosureModes: DisclosureMode[] = ['add', 'refuse'];

const aiDisclosure = /\b(AI|artificial intelligence|automated|virtual) (assistant|agent)\b/i;

const businessPlaceholder = /\{(company_name|business)\}/;

// Said when the greeting lacks it; the placeholders are filled on each call

export const disclosureSentence = 'This is an AI assistant calling on behalf of {company_name}.';


// What a greeting does not say: the AI disclosure, the business (its placeholder or its name)

export const missingDisclosure = (greeting: string, companyName?: string) => {

    const missing: string[] = [];
    if (!aiDisclosure.test(greeting)) {
        missing.push('that the caller is an AI assistant');
    }

    const named = businessPlaceholder.test(greeting) || (!!companyName && greeting.toLowerCase().includes(companyName.toLowerCase()));
    if (!named) {
        missing.push('the business calling (its name or {company_name})');
    }

    return missing;
};


// What the agent says unprompted must disclose: its greeting, and the voicemail it leaves (where
// the disclosure comes first, as a recorded message's identification must)

export const disclosed = (field: 'greeting' | 'voicemail_message', text: string, disclosure: string) => (field === 'greeting' ? `${text} ${disclosure}` : `${disclosure} ${text}`);


// The script config to store, and what was changed in it: by the tenant's mode, a greeting or a
// voicemail message that does not disclose gets a disclosure sentence, or the campaign is refused

export const checkDisclosure = (script: Record<string, unknown>, mode: DisclosureMode) => {

    const companyName = typeof script.company_name === 'string' ? script.company_name : undefined;
    const warnings: string[] = [];
    let checked = script;
    for (const field of ['greeting', 'voicemail_message'] as const) {
        const text = script[field];
        const missing = typeof text === 'string' ? missingDisclosure(text, companyName) : [];
        if (!missing.length) {
            continue;
        }

        const what = missing.join(' and ');
        if (mode === 'refuse') {
            throw Boom.badRequest(`"script_config.${field}" must say ${what}`);
        }

        checked = { ...checked, [field]: disclosed(field, text as string, disclosureSentence) };
        warnings.push(`"script_config.${field}" did not say ${what}: a disclosure sentence was added to it`);
    }

    return { script: checked, warnings };
};
