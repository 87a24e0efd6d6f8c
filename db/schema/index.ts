export * from './entities.ts';
export * from './simulator.ts';
