import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

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
        Path ready = home.resolve("ready");
        Files.deleteIfExists(ready);

        DatabaseManagementService dbms = new DatabaseManagementServiceBuilder(home)
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, new SocketAddress(host, port))
                .setConfig(GraphDatabaseSettings.auth_enabled, !password.isEmpty())
                .setConfig(GraphDatabaseSettings.pagecache_memory, pagecache)
                .setConfig(GraphDatabaseSettings.memory_transaction_global_max_size, txMax)
                .setConfig(GraphDatabaseSettings.plugin_dir, plugins)
                .setConfig(GraphDatabaseSettings.procedure_unrestricted, List.of("apoc.*"))
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
