import calculateSlot from 'cluster-key-slot';
import type { Cluster, Redis } from 'ioredis';
import type { NatMap } from '../../core/config';

/**
 * The master (`host:port`, as this node reaches it) that the cluster client's slot map
 * says owns `key`'s slot, or undefined before it has one. ioredis maps the addresses of
 * a slot refresh, but a MOVED puts the announced one in the slot map until the refresh
 * it triggers: mapped here too, so that one master has one name.
 */
export function slotOwner(cluster: Cluster, key: string, natMap: NatMap): string | undefined {
  const owner = cluster.slots[calculateSlot(key)]?.[0];
  const mapped = owner === undefined ? undefined : natMap[owner];
  return mapped ? `${mapped.host}:${mapped.port}` : owner;
}

/**
 * The cluster client's own connection to the master that owns `key`'s slot, for a
 * pipeline that must run on that one connection (an append and its WAIT).
 *
 * Not the cluster client's pipeline: when a command of it is refused before it is
 * written (its node was reconnecting), ioredis still queues the others for a reply that
 * never comes, and every later reply on that connection goes to the command before it.
 * That happens after a MOVED through a NAT map, which sends commands to a random node
 * until the slot refresh; the chaos run saw it as replies of other commands.
 */
export function ownerConnection(cluster: Cluster, key: string, natMap: NatMap): Redis | undefined {
  const owner = slotOwner(cluster, key, natMap);
  if (owner === undefined) return undefined;
  return cluster.nodes('master').find((node) => `${node.options.host}:${node.options.port}` === owner);
}
