export * from './entities.ts';
export * from './simulator.ts';
export * from './github.ts';
export * from './allocations.ts';
