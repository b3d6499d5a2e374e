import type { TalkyPlugin } from '../../core/plugin';
import type { Telephony } from '../dialer/telephony';
import { VonageTelephony } from '../vonage/telephony';
import { publicUrlOf } from '../vonage/urls';
import { parseOutcomes } from './random';
import { VonageSimulator } from './simulator';


declare module '@hapi/hapi' {
    interface PluginProperties {
        simulator: {
            instance(): VonageSimulator;                 // the one the 'simulator' provider dials through
        };
    }
}


// A caller id for rehearsals when VONAGE_FROM_NUMBER is unset (555-01xx numbers are fictional)

const rehearsalNumber = '+12025550100';


// The Vonage adapter, aimed at the simulator once it listens: the simulator starts with the first
// request, so a process that never places a call never listens

export const simulatedTelephony = (simulator: VonageSimulator, publicUrl: () => string, fromNumber = rehearsalNumber): Telephony => {

    let adapter: Promise<VonageTelephony> | null = null;
    const ready = () => (adapter ??= simulator.start().then((apiHost) => new VonageTelephony({
        apiHost,
        applicationId: simulator.applicationId,
        privateKey: simulator.privateKey,
        publicUrl: publicUrl(),
        fromNumber
    })));

    return {
        placeCall: async (request) => (await ready()).placeCall(request),
        hangup: async (providerCallId) => (await ready()).hangup(providerCallId),
        transfer: async (providerCallId, to) => (await ready()).transfer(providerCallId, to),
        lookup: async (providerCallId) => (await ready()).lookup(providerCallId),
        fetchRecording: async (url) => (await ready()).fetchRecording(url)
    };
};


// TELEPHONY_PROVIDER=simulator: a local Vonage that the real Vonage adapter dials through

export const plugin: TalkyPlugin = {
    name: 'simulator',
    dependencies: ['core'],
    register(server) {

        const { config, providers, logger } = server.plugins.core;
        parseOutcomes(config.simulatorOutcomes);                    // a bad mix stops the server now

        let simulator: VonageSimulator | null = null;
        const instance = () => (simulator ??= new VonageSimulator({
            seed: config.simulatorSeed,
            timeScale: config.simulatorTimeScale,
            outcomes: config.simulatorOutcomes,
            voice: config.simulatorVoice,
            persona: config.simulatorPersona,
            signatureSecret: config.vonageSignatureSecret,
            logger
        }));

        providers.register('telephony', 'simulator', () => simulatedTelephony(instance(), () => publicUrlOf(server), config.vonageFromNumber));
        server.expose('instance', instance);

        // No webhook leaves once the server is stopping

        server.ext('onPreStop', async () => {

            await simulator?.stop();
        });
    }
};
