package natingest.devservers;

import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;

import org.elasticsearch.common.logging.LogConfigurator;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.node.Node;
import org.elasticsearch.plugins.PluginsLoader;

/**
 * Runs one Elasticsearch node inside this JVM, for nat-ingest's tests and
 * local runs (started by deploy/dev/servers.sh).
 *
 * <p>The release tarball starts a node through a CLI, a launcher process and
 * the entitlement agent; only the server jar and the Netty module are on Maven
 * Central, so this class builds the node directly instead: settings in code,
 * modules from {@code HOME/modules} (laid out by servers.sh), then
 * {@code Node.start()}. What that leaves out, and why it is fine for our tests:
 *
 * <ul>
 *   <li>No entitlement checks (the agent is not on Maven Central).</li>
 *   <li>Only the modules servers.sh lays out: transport-netty4 and our own
 *       root-info module. No ingest processors, data streams, x-pack or
 *       security; `_bulk`, index templates, search and the `ip` type are all
 *       in the server jar.</li>
 *   <li>The server runs on the class path, not as a named module, so the
 *       plugins loader is told not to add the server's qualified exports.</li>
 * </ul>
 *
 * <p>Arguments: {@code HOME HTTP_PORT TRANSPORT_PORT}. Logging is configured
 * from {@code HOME/config/log4j2.properties}, to the console.
 */
public final class ElasticsearchDevNode {

    private ElasticsearchDevNode() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            System.err.println("usage: ElasticsearchDevNode HOME HTTP_PORT TRANSPORT_PORT");
            System.exit(2);
        }
        Path home = Path.of(args[0]).toAbsolutePath();

        Settings settings = Settings.builder()
                .put("path.home", home.toString())
                .put("path.data", home.resolve("data").toString())
                .put("path.logs", home.resolve("logs").toString())
                .put("cluster.name", "nat-ingest-dev")
                .put("node.name", "es-dev-1")
                .put("discovery.type", "single-node")
                .put("network.host", "127.0.0.1")
                .put("http.port", args[1])
                .put("transport.port", args[2])
                // Test machines often run with little free disk.
                .put("cluster.routing.allocation.disk.threshold_enabled", false)
                .build();

        LogConfigurator.configureESLogging();
        Environment environment = new Environment(settings, home.resolve("config"));
        LogConfigurator.configure(environment, true);

        // The last argument, false: the server is not a named module here
        // (see the class comment), so there are no qualified exports to add.
        PluginsLoader plugins = PluginsLoader.createPluginsLoader(
                PluginsLoader.loadModulesBundles(environment.modulesDir(), false),
                Set.of(),
                Map.of(),
                false);

        Node node = new Node(environment, plugins);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
            } catch (Exception e) {
                e.printStackTrace();
            } finally {
                stopped.countDown();
            }
        }, "nat-ingest-dev-node-shutdown"));
        node.start();
        stopped.await();
    }
}
