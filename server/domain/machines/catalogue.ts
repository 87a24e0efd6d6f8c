/**
 * Every state machine by name, as types: the event union each one takes, its statuses and data,
 * and the effects a transition may have (chains of its own events, links to the events of the
 * machine they name, jobs with the payload of their queue). The engine's entry points
 * (`engine.apply`, the state store) and the machines' own effects are checked against this.
 */
import type { Effect, MachineEvent } from '../state-machine/machine.ts';
import type { ClusterData, ClusterEvent, ClusterStatus } from './cluster.ts';
import type { DeploymentData, DeploymentEvent, DeploymentStatus } from './deployment.ts';
import type { EnvironmentData, EnvironmentEvent, EnvironmentStatus } from './environment.ts';
import type { JobPayloads } from './jobs.ts';
import type { StackData, StackEvent, StackStatus } from './stack.ts';

export type EventsByMachine = {
  cluster: ClusterEvent;
  environment: EnvironmentEvent;
  stack: StackEvent;
  deployment: DeploymentEvent;
};

export type MachineName = keyof EventsByMachine;
export type EventOf<M extends MachineName> = EventsByMachine[M];

type StatesByMachine = {
  cluster: { status: ClusterStatus; data: ClusterData };
  environment: { status: EnvironmentStatus; data: EnvironmentData };
  stack: { status: StackStatus; data: StackData };
  deployment: { status: DeploymentStatus; data: DeploymentData };
};

export type StatusOf<M extends MachineName> = StatesByMachine[M]['status'];
export type DataOf<M extends MachineName> = StatesByMachine[M]['data'];

/** An effect of a machine whose own events are `E`. */
export type MachineEffect<E extends MachineEvent> = Effect<E, EventsByMachine, JobPayloads>;
