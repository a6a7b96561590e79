from flask import Flask, jsonify, request
from gokpl import Config, SyncProducer

app = Flask(__name__)
producer = SyncProducer(Config(region="us-east-1"))
producer.__enter__()  # lifecycle tied to the Flask app

@app.route("/event", methods=["POST"])
def event():
    payload = request.get_data()
    outcome = producer.put_record(
        stream="events",
        partition_key=request.headers.get("X-User", "anon"),
        data=payload,
    )
    result = outcome.wait(timeout=2.0)
    return jsonify(
        success=result.success,
        shard_id=result.shard_id,
        sequence_number=result.sequence_number,
        attempts=len(result.attempts),
    )
