import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

import inet.ipaddr.IPAddressString;
import org.neo4j.configuration.GraphDatabaseInternalSettings;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.graphdb.QueryExecutionException;

/**
 * A Neo4j 5.26 Community server for machines without Docker: the embedded database with its
 * Bolt connector on, APOC from the plugin directory, memory sized by the caller.
 *
 * <p>Usage: {@code java -Xmx1g -cp 'lib/*' Launcher.java HOME HOST PORT PAGECACHE_BYTES
 * TX_MAX_BYTES PASSWORD_FILE}. Writes {@code HOME/ready} once Bolt accepts connections and
 * removes it on shutdown; SIGTERM shuts the databases down cleanly (checkpoint included).
 * The password is read from a file so it never shows in the process list; an empty file
 * means authentication is off (loopback development only).
 */
public final class Launcher {
    /** Procedures and functions the server loads: graphrec's queries use db.* and these. */
    static final List<String> PROCEDURE_ALLOWLIST = List.of(
            "db.*", "apoc.version", "apoc.util.md5", "apoc.util.sha1", "apoc.util.sha256",
            "apoc.coll.*", "apoc.map.*", "apoc.text.*", "apoc.math.*", "apoc.number.*",
            "apoc.convert.*", "apoc.date.*", "apoc.temporal.*", "apoc.agg.*", "apoc.meta.*",
            "apoc.path.*", "apoc.label.*", "apoc.node.*", "apoc.nodes.*", "apoc.rel.*",
            "apoc.any.*", "apoc.create.v*", "apoc.scoring.*", "apoc.algo.*", "apoc.stats.*");

    private Launcher() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 6) {
            System.err.println("usage: Launcher HOME HOST PORT PAGECACHE_BYTES TX_MAX_BYTES PASSWORD_FILE");
            System.exit(2);
        }
        Path home = Path.of(args[0]).toAbsolutePath();
        String host = args[1];
        int port = Integer.parseInt(args[2]);
        long pagecache = Long.parseLong(args[3]);
        long txMax = Long.parseLong(args[4]);
        String password = Files.readString(Path.of(args[5]), StandardCharsets.UTF_8).strip();
        Path plugins = home.resolve("plugins");
        Files.createDirectories(plugins);
        Path imports = home.resolve("import"); // LOAD CSV's root: an empty folder, file URLs off
        Files.createDirectories(imports);
        Path ready = home.resolve("ready");
        Files.deleteIfExists(ready);

        DatabaseManagementService dbms = new DatabaseManagementServiceBuilder(home)
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, new SocketAddress(host, port))
                .setConfig(GraphDatabaseSettings.auth_enabled, !password.isEmpty())
                .setConfig(GraphDatabaseSettings.pagecache_memory, pagecache)
                .setConfig(GraphDatabaseSettings.memory_transaction_global_max_size, txMax)
                .setConfig(GraphDatabaseSettings.plugin_dir, plugins)
                // No file or network access from Cypher: file URLs off (and confined to an
                // empty folder), every address blocked for LOAD CSV and APOC, and only the
                // procedures and functions below loaded (no apoc.load.*, apoc.import.*, ...).
                .setConfig(GraphDatabaseSettings.allow_file_urls, false)
                .setConfig(GraphDatabaseSettings.load_csv_file_url_root, imports)
                .setConfig(GraphDatabaseInternalSettings.cypher_ip_blocklist, List.of(
                        new IPAddressString("0.0.0.0/0"), new IPAddressString("::/0")))
                .setConfig(GraphDatabaseSettings.procedure_allowlist, PROCEDURE_ALLOWLIST)
                .build();

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                Files.deleteIfExists(ready);
            } catch (Exception ignored) {
                // best effort: the pid check tells a stale ready file apart
            }
            dbms.shutdown();
            stopped.countDown();
        }, "graphrec-neo4j-shutdown"));

        try {
            setPassword(dbms, password);
        } catch (RuntimeException e) {
            System.err.println("graphrec-neo4j: could not set the password: " + e.getMessage());
            System.exit(1); // the shutdown hook closes the databases
        }
        Files.writeString(ready, Long.toString(ProcessHandle.current().pid()), StandardCharsets.UTF_8);
        System.out.println("graphrec-neo4j ready bolt://" + host + ":" + port);
        System.out.flush();
        stopped.await();
    }

    private static void setPassword(DatabaseManagementService dbms, String password) {
        if (!password.isEmpty()) {
            // The configured password is the truth: set it at every start (a restart with the
            // same password is told "old and new password cannot be the same", which is fine).
            try {
                dbms.database("system").executeTransactionally(
                        "ALTER USER neo4j IF EXISTS SET PLAINTEXT PASSWORD $p CHANGE NOT REQUIRED",
                        Map.of("p", password));
            } catch (QueryExecutionException e) {
                if (!e.getMessage().contains("cannot be the same")) {
                    throw e;
                }
            }
        }
    }
}
