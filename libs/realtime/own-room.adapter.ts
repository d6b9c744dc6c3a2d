import { Adapter, type Room, type SocketId } from 'socket.io-adapter';

/**
 * What `sids` holds for a socket in no room but its own: one Set shared by all of them, never changed (every method
 * that would change a socket's rooms first gives the socket Sets of its own, {@link OwnRoomAdapter.materialise}).
 */
const OWN_ROOM_ONLY: Set<Room> = new Set<Room>();

/**
 * The rooms by name, where the room named by a socket's id exists for a socket in no other room without being stored:
 * `has` and `get` answer for it as Socket.IO's adapter would (the room's only member is that socket).
 */
class RoomsWithOwnRooms extends Map<Room, Set<SocketId>> {
  constructor(private readonly sids: Map<SocketId, Set<Room>>) {
    super();
  }

  override has(room: Room): boolean {
    return super.has(room) || this.sids.get(room) === OWN_ROOM_ONLY;
  }

  /** Whether a room of that name is stored (not merely answered for a socket's own room). */
  hasStored(room: Room): boolean {
    return super.has(room);
  }

  override get(room: Room): Set<SocketId> | undefined {
    const members = super.get(room);
    if (members) return members;
    return this.sids.get(room) === OWN_ROOM_ONLY ? new Set([room]) : undefined;
  }
}

/**
 * Socket.IO's in-memory adapter without a stored room per socket. Socket.IO puts every socket in a room named by its
 * id (`socket.join(socket.id)` on connect), and the in-memory adapter stores that as two one-element Sets, one per
 * direction, with their map entries: about 360 bytes of every idle connection (bench heap snapshots). The gateway
 * joins no rooms (its fan-out writes to sockets itself), so every socket is in that state; here it is recorded as
 * the socket's id in `sids` with a shared marker, and the room answers lookups without being stored. Broadcasts (to
 * everyone, to a socket's id, excepting rooms), `socket.rooms`, `fetchSockets` and `socketsJoin` see the same rooms
 * as with the in-memory adapter; a socket that joins another room (or another socket's id) gets stored Sets as
 * before. Iterating `adapter.rooms` lists only stored rooms, and the adapter's `create-room` / `join-room` /
 * `leave-room` / `delete-room` events are not emitted for a socket's own room (nothing in the gateway reads either).
 */
export class OwnRoomAdapter extends Adapter {
  // Socket.IO constructs its adapter with the namespace (`new Adapter(nsp)`).
  private readonly ownRooms: RoomsWithOwnRooms;

  constructor(nsp: ConstructorParameters<typeof Adapter>[0]) {
    super(nsp);
    this.ownRooms = new RoomsWithOwnRooms(this.sids);
    this.rooms = this.ownRooms;
  }

  override addAll(id: SocketId, rooms: Set<Room>): Promise<void> | void {
    if (rooms.size === 1 && rooms.has(id) && !this.sids.has(id) && !this.ownRooms.hasStored(id)) {
      this.sids.set(id, OWN_ROOM_ONLY);
      return;
    }
    this.materialise(id);
    // Joining a room named by another socket's id: that socket's own room becomes a stored one.
    for (const room of rooms) this.materialise(room);
    return super.addAll(id, rooms);
  }

  override del(id: SocketId, room: Room): Promise<void> | void {
    this.materialise(id);
    return super.del(id, room);
  }

  override delAll(id: SocketId): void {
    if (this.sids.get(id) === OWN_ROOM_ONLY) {
      this.sids.delete(id);
      return;
    }
    super.delAll(id);
  }

  override socketRooms(id: SocketId): Set<Room> | undefined {
    const rooms = this.sids.get(id);
    // A fresh Set: callers may change what they are given without touching the shared marker.
    return rooms === OWN_ROOM_ONLY ? new Set([id]) : rooms;
  }

  /** Gives a socket recorded in its own room only the stored Sets the in-memory adapter would have made. */
  private materialise(id: SocketId): void {
    if (this.sids.get(id) !== OWN_ROOM_ONLY) return;
    this.sids.set(id, new Set([id]));
    // Map's own set (RoomsWithOwnRooms leaves it as it is).
    this.rooms.set(id, new Set([id]));
  }
}
