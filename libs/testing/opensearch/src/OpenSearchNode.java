import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.opensearch.common.settings.Settings;
import org.opensearch.core.common.transport.TransportAddress;
import org.opensearch.http.HttpServerTransport;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.plugins.Plugin;
import org.opensearch.transport.Netty4Plugin;

/**
 * One real OpenSearch node for tests: the server jar and its Netty4 HTTP and
 * transport plugin on the classpath, no distribution and no plugin folders
 * (Node's own constructor takes plugin classes, as the test framework's
 * MockNode does; that framework is not used: its randomized-testing jar makes
 * the server ask for a test runner's random context). It binds 127.0.0.1 on
 * ephemeral ports, writes the HTTP address to PORT_FILE (atomically: a
 * rename) once the node is started, and stops on SIGTERM.
 *
 * Usage: java -cp CLASSPATH OpenSearchNode HOME_DIR PORT_FILE
 */
public final class OpenSearchNode {
  private OpenSearchNode() {}

  public static void main(String[] args) throws Exception {
    if (args.length != 2) {
      System.err.println("usage: OpenSearchNode HOME_DIR PORT_FILE");
      System.exit(2);
    }
    Path home = Path.of(args[0]).toAbsolutePath();
    Path portFile = Path.of(args[1]).toAbsolutePath();
    Files.createDirectories(home.resolve("config"));
    Settings settings = Settings.builder()
        .put("path.home", home.toString())
        .put("path.data", home.resolve("data").toString())
        .put("path.logs", home.resolve("logs").toString())
        .put("cluster.name", "saker-test")
        .put("node.name", "saker-test")
        .put("discovery.type", "single-node")
        .put("network.host", "127.0.0.1")
        .put("http.port", "0")
        .put("transport.port", "0")
        .put("http.type", "netty4")
        .put("transport.type", "netty4")
        // A test machine's disk may be nearly full: never turn indices read-only.
        .put("cluster.routing.allocation.disk.threshold_enabled", false)
        .build();
    Node node = new ClasspathNode(
        InternalSettingsPreparer.prepareEnvironment(settings, Map.of(), home.resolve("config"), () -> "saker-test"),
        List.of(Netty4Plugin.class));
    node.start();
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        node.close();
      } catch (IOException e) {
        e.printStackTrace();
      }
      stopped.countDown();
    }));
    TransportAddress address =
        node.injector().getInstance(HttpServerTransport.class).boundAddress().publishAddress();
    Path tmp = portFile.resolveSibling(portFile.getFileName() + ".tmp");
    Files.writeString(tmp, address.getAddress() + ":" + address.getPort() + "\n", StandardCharsets.UTF_8);
    Files.move(tmp, portFile, StandardCopyOption.ATOMIC_MOVE);
    // The node's own threads keep the JVM running until SIGTERM (the shutdown
    // hook closes the node) or the parent's death (setpriv --pdeathsig).
    stopped.await();
  }

  /** A node whose plugins are classes on the classpath instead of folders under plugins/. */
  private static final class ClasspathNode extends Node {
    ClasspathNode(org.opensearch.env.Environment environment, List<Class<? extends Plugin>> plugins) {
      super(environment, plugins, true);
    }
  }
}
