// SvrlFatal.java - runs compiled Schematron stylesheets (XSLT 2.0) over directories of documents in one
// JVM and prints, per document, the number of fatal failed assertions and their rule ids:
//   java -cp Saxon-HE.jar SvrlFatal.java STYLESHEET DIR [STYLESHEET DIR ...]
// Output lines: "DIR/FILE: N fatal [RULE ...]" or "DIR/FILE: transform error: MESSAGE".
import java.io.File;
import java.util.Arrays;
import javax.xml.transform.stream.StreamSource;
import net.sf.saxon.s9api.*;

public class SvrlFatal {
	public static void main(String[] args) throws Exception {
		Processor processor = new Processor(false);
		XPathCompiler xpath = processor.newXPathCompiler();
		xpath.declareNamespace("svrl", "http://purl.oclc.org/dsdl/svrl");
		XPathExecutable fatal = xpath.compile("//svrl:failed-assert[@flag='fatal']");
		for (int i = 0; i + 1 < args.length; i += 2) {
			XsltExecutable xslt = processor.newXsltCompiler().compile(new StreamSource(new File(args[i])));
			File[] files = new File(args[i + 1]).listFiles();
			Arrays.sort(files);
			for (File f : files) {
				XsltTransformer t = xslt.load();
				XdmDestination result = new XdmDestination();
				t.setSource(new StreamSource(f));
				t.setDestination(result);
				String name = new File(args[i + 1]).getName() + "/" + f.getName();
				try {
					t.transform();
				} catch (SaxonApiException e) {
					System.out.println(name + ": transform error: " + e.getMessage().replace('\n', ' '));
					continue;
				}
				XPathSelector s = fatal.load();
				s.setContextItem(result.getXdmNode());
				StringBuilder ids = new StringBuilder();
				int n = 0;
				for (XdmItem item : s) {
					n++;
					ids.append(' ').append(((XdmNode) item).getAttributeValue(new QName("id")));
				}
				System.out.println(name + ": " + n + " fatal" + ids);
			}
		}
	}
}
