package natingest.devservers;

import java.util.Collection;
import java.util.List;
import java.util.function.Predicate;
import java.util.function.Supplier;

import org.elasticsearch.Build;
import org.elasticsearch.client.internal.node.NodeClient;
import org.elasticsearch.cluster.node.DiscoveryNodes;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.features.NodeFeature;
import org.elasticsearch.plugins.ActionPlugin;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.rest.BaseRestHandler;
import org.elasticsearch.rest.RestHandler;
import org.elasticsearch.rest.RestRequest;
import org.elasticsearch.rest.RestResponse;
import org.elasticsearch.rest.RestStatus;
import org.elasticsearch.xcontent.XContentBuilder;

/**
 * Answers {@code GET /} and {@code HEAD /} on the dev Elasticsearch node.
 *
 * <p>Elasticsearch serves its root endpoint from a module that is not on
 * Maven Central, so without this the node answers 405 there, and clients that
 * read the server version at start (as the Rust client's {@code info()} does)
 * fail. This is our own small stand-in: it reports the node and cluster name
 * and the version of the server jar, which is all such clients read.
 */
public final class RootInfoPlugin extends Plugin implements ActionPlugin {

    @Override
    public Collection<RestHandler> getRestHandlers(
            RestHandlersServices services,
            Supplier<DiscoveryNodes> nodes,
            Predicate<NodeFeature> clusterSupportsFeature) {
        return List.of(new RootInfoHandler(services.settings()));
    }

    private static final class RootInfoHandler extends BaseRestHandler {
        private final Settings settings;

        RootInfoHandler(Settings settings) {
            this.settings = settings;
        }

        @Override
        public String getName() {
            return "nat_ingest_dev_root_info";
        }

        @Override
        public List<Route> routes() {
            return List.of(new Route(RestRequest.Method.GET, "/"), new Route(RestRequest.Method.HEAD, "/"));
        }

        @Override
        protected RestChannelConsumer prepareRequest(RestRequest request, NodeClient client) {
            return channel -> {
                XContentBuilder body = channel.newBuilder();
                body.startObject();
                body.field("name", settings.get("node.name"));
                body.field("cluster_name", settings.get("cluster.name"));
                body.startObject("version");
                body.field("number", Build.current().version());
                body.field("build_flavor", Build.current().flavor());
                body.field("lucene_version", org.apache.lucene.util.Version.LATEST.toString());
                body.endObject();
                body.field("tagline", "nat-ingest dev node, started by deploy/dev/servers.sh");
                body.endObject();
                channel.sendResponse(new RestResponse(RestStatus.OK, body));
            };
        }
    }
}
