// The UpdateService's URIs and named bounds: how large an image may be, how many members update
// at once, how the upload is cut into chunks for the members' staging files.
export const UPDATE_SERVICE_URI = "/redfish/v1/UpdateService";
export const SIMPLE_UPDATE_URI = `${UPDATE_SERVICE_URI}/Actions/UpdateService.SimpleUpdate`;
/** Where a console pushes an image (multipart/form-data): the facade streams it to every target's agent. */
export const MULTIPART_PUSH_URI = `${UPDATE_SERVICE_URI}/update-multipart`;
/** The action name messages use for the multipart push (as bmcweb and the simulator do). */
export const MULTIPART_PUSH_ACTION = "UpdateService.MultipartHttpPushUpdate";

/**
 * Largest image the facade streams (the agents' staging bound); the UpdateService advertises the
 * smallest of this and every member BMC's own MaxImageSizeBytes, and a push is held to its targets'.
 */
export const MAX_FIRMWARE_IMAGE_BYTES = 512 * 1024 * 1024;
/** Largest UpdateParameters part read (it is JSON held in memory). */
export const MAX_UPDATE_PARAMETERS_BYTES = 16 * 1024;
/** Parts of one multipart push: UpdateParameters, UpdateFile and a few the facade refuses by name. */
export const MAX_MULTIPART_PARTS = 8;
/**
 * What the upload buffers before writing to the members: every staging writer gets chunks of this
 * size (the agents' RPC chunk), and the next is read only once every member has the previous one.
 */
export const UPLOAD_CHUNK_BYTES = 256 * 1024;
/** An upload that sends nothing for this long is abandoned (its staged files removed). */
export const UPLOAD_IDLE_TIMEOUT_MS = 60_000;
/** Members updated at once when an update names no batch (each BMC reboots into its new firmware). */
export const DEFAULT_UPDATE_BATCH_SIZE = 2;

/** TransferProtocol values SimpleUpdate accepts (UpdateService.TransferProtocolType, without OEM and the deprecated NSF). */
export const TRANSFER_PROTOCOLS: readonly string[] = Object.freeze([
  "CIFS",
  "FTP",
  "SFTP",
  "HTTP",
  "HTTPS",
  "SCP",
  "TFTP",
  "NFS",
]);
