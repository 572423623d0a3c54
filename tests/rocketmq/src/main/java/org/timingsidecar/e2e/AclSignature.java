package org.timingsidecar.e2e;

import org.apache.rocketmq.acl.common.AclClientRPCHook;
import org.apache.rocketmq.acl.common.SessionCredentials;
import org.apache.rocketmq.remoting.protocol.RemotingCommand;

/**
 * What RocketMQ's own AclClientRPCHook adds to a request, for the sidecar's unit tests to compare
 * with (tests/fixtures/remoting/acl_signatures.txt):
 * <pre>
 * AclSignature ACCESS_KEY SECRET_KEY CODE [KEY=VALUE...]   prints "AccessKey=... Signature=..."
 * </pre>
 */
public final class AclSignature {
    private AclSignature() {
    }

    public static void main(String[] args) {
        RemotingCommand request = RemotingCommand.createRequestCommand(Integer.parseInt(args[2]), null);
        for (int i = 3; i < args.length; i++) {
            String[] pair = args[i].split("=", 2);
            request.addExtField(pair[0], pair[1]);
        }
        new AclClientRPCHook(new SessionCredentials(args[0], args[1])).doBeforeRequest("127.0.0.1:0", request);
        System.out.println("AccessKey=" + request.getExtFields().get("AccessKey")
            + " Signature=" + request.getExtFields().get("Signature"));
    }
}
