import { VonageSimulator, type SimulatorOptions } from '../../plugins/simulator/simulator';


// The fake Vonage of the tests is the simulator itself: the same wire protocol Talky dials in
// rehearsals, on loopback, a thousand times faster than real time

export { VonageSimulator };


export const startVonage = async (options: SimulatorOptions = {}) => {

    const vonage = new VonageSimulator({ seed: 1, timeScale: 0.001, ...options });
    await vonage.start();
    return vonage;
};
