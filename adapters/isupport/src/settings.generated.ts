/* Generated from adapters/isupport/configuration-schema.json by `npm run gen:types`. Do not edit. */

/**
 * iSupport exchanges cases as CSV files on a file server (SFTP, FTP or FTPS: export folders it writes, import folders it picks up), acknowledges export requests over HTTP and reports completions by e-mail.
 */
export interface IsupportSettings {
  /**
   * File server protocol. sftp (default, kept for existing configurations), ftp (plain FTP, as the seed's 'ftp server'), or ftps (FTP with explicit TLS: AUTH TLS, protected data connections). The server itself is set in the sftp block for all three.
   */
  transport?: 'sftp' | 'ftp' | 'ftps';
  /**
   * Permission bits of every file the hub writes on the file server (import CSVs, folder reports), octal; 'keep' leaves the server's default. SFTP sets it when opening and with chmod; FTP/FTPS with SITE CHMOD (a server refusing it fails the write).
   */
  fileMode?: string;
  /**
   * The file server (for every transport; the name is kept for existing configurations).
   */
  sftp: {
    [k: string]: unknown;
  } & {
    host: string;
    /**
     * Default 22 for sftp, 21 for ftp and ftps.
     */
    port?: number;
    username: string;
    /**
     * Use ${ENV_VAR}. Either password or privateKey (ftp and ftps need password).
     */
    password?: string;
    /**
     * OpenSSH/PEM private key text (use ${ENV_VAR}).
     */
    privateKey?: string;
    /**
     * Passphrase of privateKey (use ${ENV_VAR}).
     */
    passphrase?: string;
    /**
     * Expected SHA-256 fingerprint of the server's host key (base64, as ssh-keygen -lf prints it, with or without the SHA256: prefix). When set, any other host key is refused.
     */
    hostKeySha256?: string;
    /**
     * Folder where iSupport writes export request folders, e.g. /iSupport/Api/Export.
     */
    exportDir: string;
    /**
     * Folder iSupport's scheduler picks import request folders up from.
     */
    importDir: string;
    /**
     * Where processed export folders are moved. Default: {exportDir}/archive.
     */
    archiveDir?: string;
    /**
     * Where unreadable export folders are moved. Default: {exportDir}/failed.
     */
    failedDir?: string;
    /**
     * Optional: build each import folder here (final file names) and rename the whole folder into importDir once complete. Must be on the same file system as importDir. Without it, files are written under temporary names inside the request folder and renamed.
     */
    stagingDir?: string;
    readyTimeoutMs?: number;
    /**
     * ftps only: how the server's certificate is checked (system CAs plus ca).
     */
    tls?: {
      /**
       * PEM certificate(s) to trust, e.g. the server's self-signed certificate.
       */
      ca?: string;
      /**
       * Name the certificate must carry when it differs from host.
       */
      servername?: string;
      /**
       * false accepts any certificate (closed test networks only).
       */
      rejectUnauthorized?: boolean;
    };
  };
  api: {
    /**
     * iSupport request API, e.g. http://hostname:9091 (no trailing slash).
     */
    baseUrl: string;
    timeoutMs?: number;
    /**
     * Largest acknowledgement body accepted, in bytes; a larger one is aborted and fails permanently (REPLY_TOO_LARGE).
     */
    maxResponseBytes?: number;
    /**
     * How requestCaseData puts the case id into the URL. spec (default): as the seed writes it, /requestCaseData/US-UK(NI)-2015-100_0453-US (parentheses kept; '/', '?', '#', '%', spaces and non-ASCII percent-encoded). strict: also percent-encode ( ) ! ' *.
     */
    caseIdEscaping?: 'spec' | 'strict';
  };
  /**
   * Mail settings, named after iSupport's ApplicationResource.properties: host = SCHEDULAR_SMTP_HOST, subject = EXPORT_BATCH_REQUEST_MAIL_SUBJECT, from = EXPORT_BATCH_REQUEST_MAIL_FROM, to = EXPORT_BATCH_REQUEST_MAIL_TO, supportEmail = SUPPORT_EMAIL.
   */
  smtp?: {
    /**
     * SCHEDULAR_SMTP_HOST
     */
    host: string;
    port?: number;
    /**
     * TLS from the first byte (port 465).
     */
    secure?: boolean;
    username?: string;
    /**
     * Use ${ENV_VAR}.
     */
    password?: string;
    /**
     * EXPORT_BATCH_REQUEST_MAIL_SUBJECT
     */
    subject?: string;
    /**
     * EXPORT_BATCH_REQUEST_MAIL_FROM
     */
    from?: string;
    /**
     * EXPORT_BATCH_REQUEST_MAIL_TO
     */
    to?: string;
    /**
     * SUPPORT_EMAIL: the address named in the import notice, and where dead-letter mails go unless deadLetterTo is set.
     */
    supportEmail?: string;
    /**
     * The address named in the export notice (the seed's export text names isupport-batch-admin@protechsolutions.com, not SUPPORT_EMAIL).
     */
    exportSupportEmail?: string;
    /**
     * Recipient of dead-letter mails. Default: supportEmail.
     */
    deadLetterTo?: string;
    /**
     * IANA zone used to print notice timestamps the way Java's Date.toString() does.
     */
    timeZone?: string;
  };
  /**
   * Column layout data files (JSON). Relative paths are resolved against the working directory. Defaults: config/isupport/export-layout.json, config/isupport/import-layout.json, config/isupport/code-lists.json.
   */
  layouts?: {
    export?: string;
    import?: string;
    codeLists?: string;
  };
  /**
   * Start written CSV files with a UTF-8 byte order mark.
   */
  bom?: boolean;
  /**
   * Prefix of the import request folder names the hub creates (the rest is derived from the delivery id).
   */
  requestPrefix?: string;
  polling?: {
    /**
     * A folder is read only when the names, sizes and times of its files are the same before and after this wait.
     */
    stableWaitMs?: number;
    maxFoldersPerPoll?: number;
    emitBatchSize?: number;
    /**
     * A batch of built cases is also emitted once its cases hold this many rows (case, member and worker rows). Built cases waiting for emit are what keeps the export reader's memory up; larger values mean fewer, larger intake groups and more memory.
     */
    emitBatchRows?: number;
    /**
     * When member/worker rows are not grouped in CaseDetails order, up to this many are held in memory to join them; larger unordered folders fail.
     */
    maxBufferedRows?: number;
    /**
     * A folder still missing sections after this long is moved to failedDir.
     */
    incompleteTimeoutMs?: number;
    folderLockMs?: number;
    /**
     * File names ending like this are still being written.
     */
    tempSuffixes?: string[];
  };
  /**
   * How often a process re-reads the shared reference-data cache from Redis.
   */
  referenceDataRefreshMs?: number;
}
