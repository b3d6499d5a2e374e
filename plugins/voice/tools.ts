import type { ToolCall, ToolSpec } from './slots';


// What the agent can do besides talking. The LLM (or the scripted agent) asks; the call's
// actions carry it out and say how it went, which goes back to the LLM as the tool's result.

export interface CallActions {
    hangUp(): Promise<void>;
    markGoalAchieved(): Promise<void>;
    scheduleCallback(at: Date): Promise<void>;
    addToDoNotCall(reason: string): Promise<void>;
    transfer(): Promise<void>;
    canTransfer: boolean;                        // the campaign names a number to transfer to
}


export const toolSpecs = (options: { canTransfer: boolean }): ToolSpec[] => [
    {
        name: 'end_call',
        description: 'Hang up once what you are saying now has been heard. Use it after saying goodbye.',
        parameters: { type: 'object', properties: {}, additionalProperties: false }
    },
    {
        name: 'mark_goal_achieved',
        description: 'Record that the goal of the call was reached (for example the person agreed to the appointment).',
        parameters: { type: 'object', properties: {}, additionalProperties: false }
    },
    {
        name: 'schedule_callback',
        description: 'The person asked to be called back at another time: call them again then.',
        parameters: {
            type: 'object',
            properties: { at: { type: 'string', description: 'When to call back, as an ISO 8601 date and time with its offset' } },
            required: ['at'],
            additionalProperties: false
        }
    },
    {
        name: 'add_to_do_not_call',
        description: 'The person asked not to be called again: never call this number again.',
        parameters: {
            type: 'object',
            properties: { reason: { type: 'string', description: 'Their words, briefly' } },
            additionalProperties: false
        }
    },
    ...(options.canTransfer ? [{
        name: 'transfer_to_human',
        description: 'The person wants to speak to a human: transfer the call to a colleague.',
        parameters: { type: 'object', properties: {}, additionalProperties: false }
    }] : [])
];


// What happens once the agent's words are heard: the call ends, or goes to a human

export const afterwards = (call: ToolCall, actions: CallActions): 'hang_up' | 'transfer' | null => {

    if (call.name === 'transfer_to_human' && actions.canTransfer) {
        return 'transfer';
    }

    return call.name === 'end_call' || call.name === 'add_to_do_not_call' ? 'hang_up' : null;
};


// Runs one tool; the result is the text the LLM reads back

export const runTool = async (actions: CallActions, call: ToolCall, now: Date): Promise<string> => {

    switch (call.name) {
        case 'end_call':
            return 'The call will end once your last words are heard.';

        case 'mark_goal_achieved':
            await actions.markGoalAchieved();
            return 'Recorded: goal achieved.';

        case 'schedule_callback': {
            const at = new Date(String(call.arguments.at ?? ''));
            if (Number.isNaN(at.getTime()) || at.getTime() <= now.getTime()) {
                return 'Not scheduled: "at" must be a future date and time in ISO 8601.';
            }

            await actions.scheduleCallback(at);
            return `Scheduled a call back at ${at.toISOString()}.`;
        }

        case 'add_to_do_not_call':
            await actions.addToDoNotCall(typeof call.arguments.reason === 'string' && call.arguments.reason ? call.arguments.reason.slice(0, 500) : 'asked not to be called');
            return 'The number will not be called again. Say goodbye; the call then ends.';

        case 'transfer_to_human':
            return actions.canTransfer ? 'The call goes to a colleague once your words are heard.' : 'No one is available to take the call: offer a call back instead.';

        default:
            return `There is no tool named ${call.name}.`;
    }
};
