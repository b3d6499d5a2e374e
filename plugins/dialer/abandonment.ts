import type { Core } from '../../core/plugin';


// Abandoned calls: a live-answered call whose first audio from the agent did not start within
// 2 s of the answer. At most 3% of them per campaign (30 days in the US, 24 hours in the UK); a
// campaign over its ceiling pauses itself, once it has answered enough calls for a rate to mean
// something (one slow call among the first few is not a trend).

export const abandonedAfterMs = 2000;

export const defaultCeiling = 3;                 // percent

export const minimumAnswered = 20;

export const windows = [
    { name: '30d', label: '30 days', ms: 30 * 24 * 3600_000 },
    { name: '24h', label: '24 hours', ms: 24 * 3600_000 }
] as const;


export interface AbandonmentRates {
    abandonment_rate_30d: number;                // percent of live-answered calls
    abandonment_rate_24h: number;
}


interface Window {
    answered: number;
    abandoned: number;
    rate: number;
}

export const percent = (abandoned: number, answered: number) => (answered ? Math.round(abandoned / answered * 10_000) / 100 : 0);


// Live-answered: the agent's audio was measured (the voice socket served it, or the call ended
// unheard) and no machine took it (a machine found later is left out then). Counted at the answer,
// the placing when no answer was recorded. In SQL over calls, for the analytics too.

export const liveAnsweredSql = 'abandoned IS NOT NULL AND NOT machine AND outcome IS DISTINCT FROM \'voicemail\'';

export const answerAtSql = 'COALESCE(answered_at, created_at)';


const counted = async (core: Core, campaignId: string): Promise<Record<'30d' | '24h', Window>> => {

    const now = core.clock.now().getTime();
    const since = windows.map((window) => new Date(now - window.ms));
    const { rows: [row] } = await core.db.raw<{ rows: Array<Record<string, string>> }>(`
        SELECT count(*) FILTER (WHERE answered >= ?) AS answered_30d,
               count(*) FILTER (WHERE answered >= ? AND abandoned) AS abandoned_30d,
               count(*) FILTER (WHERE answered >= ?) AS answered_24h,
               count(*) FILTER (WHERE answered >= ? AND abandoned) AS abandoned_24h
        FROM (SELECT ${answerAtSql} AS answered, abandoned FROM calls WHERE campaign_id = ? AND ${liveAnsweredSql}) AS live`,
    [since[0], since[0], since[1], since[1], campaignId]);

    const windowOf = (name: '30d' | '24h') => {

        const answered = Number(row![`answered_${name}`]);
        const abandoned = Number(row![`abandoned_${name}`]);
        return { answered, abandoned, rate: percent(abandoned, answered) };
    };

    return { '30d': windowOf('30d'), '24h': windowOf('24h') };
};


export const rates = async (core: Core, campaignId: string): Promise<AbandonmentRates> => {

    const counts = await counted(core, campaignId);
    return { abandonment_rate_30d: counts['30d'].rate, abandonment_rate_24h: counts['24h'].rate };
};


export interface AbandonedCall {
    id: string;
    tenant_id: string;
    campaign_id: string;
    calling_config: Record<string, unknown> | null;
}


// The agent's first audio went out: the call is kept as abandoned or not

export const firstAudio = async (core: Core, call: AbandonedCall, firstAudioMs: number) => {

    const abandoned = firstAudioMs > abandonedAfterMs;
    await core.db('calls').where({ id: call.id }).update({ first_audio_ms: Math.round(firstAudioMs), abandoned });
    return { abandoned, paused: abandoned ? await checkCeiling(core, call) : false };
};


// An abandoned call may take its campaign over the ceiling, which pauses it with the reason

export const checkCeiling = async (core: Core, call: AbandonedCall): Promise<boolean> => {

    const ceiling = typeof call.calling_config?.max_abandonment_rate === 'number' ? call.calling_config.max_abandonment_rate : defaultCeiling;
    if (ceiling >= 100) {
        return false;                                   // never over it
    }

    const counts = await counted(core, call.campaign_id);
    const over = windows.find((window) => counts[window.name].answered >= minimumAnswered && counts[window.name].rate > ceiling);
    if (!over) {
        return false;
    }

    const { rate, abandoned: count, answered } = counts[over.name];
    const reason = `Abandoned calls reached ${rate}% of live-answered calls over ${over.label} (${count} of ${answered}; the ceiling is ${ceiling}%): the agent's first words came later than 2 s after the answer`;
    const paused = await core.db('campaigns').where({ id: call.campaign_id, status: 'running' }).update({ status: 'paused', paused_reason: reason, updated_at: core.clock.now() });
    if (paused) {
        core.logger.warn({ campaign: call.campaign_id, rate, window: over.name }, 'campaign paused: too many abandoned calls');
        core.live.publish({ tenant_id: call.tenant_id, type: 'campaign', campaign_id: call.campaign_id, data: { campaign_id: call.campaign_id, status: 'paused', paused_reason: reason } });
    }

    return paused > 0;
};

